"""Test models built once by an environment with TensorFlow and reused by one without it.

Why: the edge must pass its tests in the environment a Raspberry Pi really
gets (numpy 1.24 from Bookworm's constraints file, no TensorFlow, which needs
numpy >= 1.26). The models those tests load are converted from Keras, so
``make test-pi`` builds them first with the workstation venv into
``$HAR_TEST_MODELS`` and the device venv reads them from there. Without the
variable each session builds its own, as before.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

ENV = "HAR_TEST_MODELS"


def _encode(value, root: Path):
    if isinstance(value, dict):
        return {k: _encode(v, root) for k, v in value.items()}
    return str(Path(value).relative_to(root))


def _decode(value, root: Path):
    if isinstance(value, dict):
        return {k: _decode(v, root) for k, v in value.items()}
    return root / value


def cached(name: str, build: Callable[[Path], object], tmp_path_factory):
    """``build(folder)`` once per session, or once per ``$HAR_TEST_MODELS`` folder when that is set."""
    root = os.environ.get(ENV)
    if not root:
        return build(tmp_path_factory.mktemp(name))
    out = Path(root) / name
    done = out / ".prebuilt.json"
    if done.is_file():
        return _decode(json.loads(done.read_text()), out)
    pytest.importorskip("tensorflow", reason=f"{name} is not prebuilt in ${ENV}, and building it needs TensorFlow")
    out.mkdir(parents=True, exist_ok=True)
    result = build(out)
    done.write_text(json.dumps(_encode(result, out)))
    return result


def main(folder: str) -> None:
    """``python -m tests.edge.prebuilt DIR``: build every cached model into DIR (needs TensorFlow)."""
    from tests.edge.colour import build_colour_bundle
    from tests.edge.enroll_bundle import build_enroll_bundle, build_old_enroll_bundle
    from tests.edge.tiny_models import build_tiny_models

    os.environ[ENV] = folder

    class Factory:
        def mktemp(self, name):  # only used without $HAR_TEST_MODELS
            raise AssertionError(name)

    for name, build in (("colour_bundle", build_colour_bundle), ("tiny_models", build_tiny_models),
                        ("enroll_bundle", build_enroll_bundle), ("enroll_bundle_old", build_old_enroll_bundle)):
        cached(name, build, Factory())
        print(f"{folder}/{name}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1])
