"""The dependency direction, read from the code: ``models <- train``, ``models <- export``, ``edge <- everything``.

Training and export meet only through a model folder's files: neither imports
the other, so a change to training cannot break export. The device package
imports none of the workstation packages, and ``har.models`` neither of its
users. Every import statement counts, at module level or inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Package -> the har packages it must never import.
FORBIDDEN = {
    "train": ("har.export", "har.cli"),
    "export": ("har.train", "har.cli"),
    "models": ("har.train", "har.export", "har.cli"),
    "edge": ("har.train", "har.export", "har.models", "har.cli"),
}


def imported_modules(path: Path, root: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every import in ``path``; relative imports resolved against its package."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = "har." + ".".join(path.relative_to(root).parent.parts)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                mod = f"{base}.{node.module}" if node.module else base
            else:
                mod = node.module or ""
            out.append((node.lineno, mod))
            if mod == "har":  # `from har import train`
                out += [(node.lineno, f"har.{a.name}") for a in node.names]
    return out


def crossings(package: str, root: Path = ROOT) -> list[str]:
    bad = []
    for path in sorted((root / package).rglob("*.py")):
        for line, mod in imported_modules(path, root):
            if any(mod == banned or mod.startswith(banned + ".") for banned in FORBIDDEN[package]):
                bad.append(f"{path.relative_to(root)}:{line} imports {mod}")
    return bad


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_against_the_dependency_direction(package):
    assert crossings(package) == []


def test_the_walk_sees_every_kind_of_import(tmp_path):
    """The checker itself: function-level, ``from har import x``, plain and relative imports are all seen."""
    pkg = tmp_path / "export"
    pkg.mkdir()
    (pkg / "a.py").write_text("def f():\n    from har.train.fit import train\n")
    (pkg / "b.py").write_text("from har import train\n")
    (pkg / "c.py").write_text("import har.train.config as c\n")
    (pkg / "d.py").write_text("from ..train import fit\n")
    (pkg / "ok.py").write_text("from har.models.folder import read_model_folder\nimport har.edge.bundle\n")
    found = crossings("export", tmp_path)
    assert sorted({f.split(":")[0] for f in found}) == ["export/a.py", "export/b.py", "export/c.py", "export/d.py"]
