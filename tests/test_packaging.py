"""Every package folder ships: a built wheel holds exactly what `pip install -e .` imports.

With an explicit ``packages`` list, setuptools leaves out any folder that is not named, and only the wheel
notices (an editable install finds it on disk). So each folder with an ``__init__.py`` under a mapped
top-level folder must be listed, with its folder.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_package_folder_is_listed_in_pyproject():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(tool["packages"]), tool["package-dir"]
    roots = {name: ROOT / folder for name, folder in dirs.items() if name.count(".") == 1}
    found = {}
    for name, folder in roots.items():
        for init in folder.rglob("__init__.py"):
            rel = init.parent.relative_to(folder).parts
            found[".".join([name, *rel])] = init.parent
    assert set(found) == listed, f"unlisted: {sorted(set(found) - listed)}; missing: {sorted(listed - set(found))}"
    for name, folder in found.items():
        assert ROOT / dirs[name] == folder, f"{name} maps to {dirs[name]}, not {folder.relative_to(ROOT)}"
