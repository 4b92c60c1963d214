"""pytest plugin for the arm64 proof: a defined subset of the edge tests, and which edge modules it runs.

Emulated, the whole edge suite takes hours on a small host; when it cannot,
``-p subset`` with ``HAR_ARM64_PER_FILE=N`` keeps the first N tests (in
collection order) of every test file, plus those whose id contains one of the
comma-separated names in ``HAR_ARM64_ALSO`` (for modules no first test
reaches), so each test file, and through them each module of ``har.edge``,
runs at least once. ``HAR_ARM64_MODULES=FILE``
(run on the host, where it is cheap) writes the ``har.edge`` modules of
which at least one function ran, and those of which none did, to check that
claim rather than assume it; with ``HAR_ARM64_NO_TENSORFLOW=1`` the host
cannot import TensorFlow or Keras either, so that (with ``-p skip_tensorflow``)
the same tests skip as in the arm64 root and the list is the root's.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path

_ran: set[str] = set()


def _profile(frame, event, arg):
    if event == "call" and frame.f_code.co_name != "<module>":
        _ran.add(frame.f_code.co_filename)


class _NoTensorFlow:
    """A meta path finder that makes TensorFlow and Keras missing, as in the edge install."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("tensorflow", "keras"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name.split(".")[0])
        return None


def pytest_configure(config):
    if os.environ.get("HAR_ARM64_NO_TENSORFLOW"):
        sys.meta_path.insert(0, _NoTensorFlow())
    if os.environ.get("HAR_ARM64_MODULES"):
        sys.setprofile(_profile)
        threading.setprofile(_profile)


def pytest_collection_modifyitems(session, config, items):
    n = int(os.environ.get("HAR_ARM64_PER_FILE", "0") or 0)
    if n <= 0:
        return
    also = [a for a in os.environ.get("HAR_ARM64_ALSO", "").split(",") if a]
    seen: dict[str, int] = {}
    keep, drop = [], []
    for item in items:
        path = str(item.path)
        seen[path] = seen.get(path, 0) + 1
        (keep if seen[path] <= n or any(a in item.nodeid for a in also) else drop).append(item)
    items[:] = keep
    config.hook.pytest_deselected(items=drop)


def pytest_unconfigure(config):
    out = os.environ.get("HAR_ARM64_MODULES")
    if not out:
        return
    sys.setprofile(None)
    import har.edge

    root = Path(har.edge.__file__).resolve().parent
    modules = sorted(str(p.relative_to(root)) for p in root.rglob("*.py"))
    ran = {str(Path(f).resolve().relative_to(root)) for f in _ran if Path(f).resolve().is_relative_to(root)}
    Path(out).write_text(json.dumps({"ran": sorted(m for m in modules if m in ran),
                                     "not_run": sorted(m for m in modules if m not in ran)}, indent=1) + "\n")
