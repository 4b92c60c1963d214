"""The edge runtime must work on a device where TensorFlow does not exist."""

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent("""
    import importlib.abc, sys

    class NoTensorFlow(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            root = name.split(".")[0]
            if root in ("tensorflow", "keras", "tf_keras", "jax", "torch") or name.startswith(
                    ("har.train", "har.export", "har.models")):
                raise ImportError(f"blocked on the edge: {name}")
            return None

    sys.meta_path.insert(0, NoTensorFlow())
""")


def run_blocked(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BLOCKER + textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=120)


def test_every_edge_module_imports_without_tensorflow():
    res = run_blocked("""
        import importlib, pkgutil, sys
        import har.edge
        names = [m.name for m in pkgutil.walk_packages(har.edge.__path__, "har.edge.")]
        for name in names:
            importlib.import_module(name)
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        assert not heavy, heavy
        print(len(names), "modules")
    """)
    assert res.returncode == 0, res.stderr
    assert int(res.stdout.split()[0]) >= 15


def test_har_edge_cli_help_runs_without_tensorflow():
    res = run_blocked("""
        import sys
        from har.edge.cli import app
        sys.argv = ["har-edge", "--help"]
        app()
    """)
    assert res.returncode == 0, res.stderr
    for cmd in ("run", "predict", "info", "doctor"):
        assert cmd in res.stdout
