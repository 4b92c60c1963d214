"""The default model that ships with har-edge, used when neither ``--bundle`` nor the config names one.

Why: ``pip install har-edge`` then ``har-edge run --camera 0`` should
recognise people out of the box, without training anything first. The
default is a pose bundle (it sees only the body, so it works on people it
never saw) exported with ``--pose-models cache``: ``head.tflite``,
``metadata.json`` and the export report, tens of KB; the two BlazePose models
come from the verified pose cache (``har-edge models fetch pose``, fetched on
the first interactive run).

This folder *is* that bundle. ``make pose-default`` trains and exports it
elsewhere and copies its files here (an export into this folder is refused:
it is not empty and not a bundle, it holds this module); the wheel carries
them as package data. Until then it holds no ``metadata.json``, and the
commands that need a model say so in one sentence. ``HAR_EDGE_DEFAULT_BUNDLE``
points the default somewhere else (a device image with its own model, tests).
"""

from __future__ import annotations

import os
from pathlib import Path

from har.edge.bundle import METADATA_FILE, Bundle, BundleError, load_bundle

ENV = "HAR_EDGE_DEFAULT_BUNDLE"


def default_bundle_path() -> Path:
    """``$HAR_EDGE_DEFAULT_BUNDLE`` when set and non-empty, else this package folder."""
    override = os.environ.get(ENV)
    return Path(override) if override else Path(__file__).resolve().parent


def load_default_bundle() -> Bundle:
    """The default bundle, validated; :class:`BundleError` (one sentence) when this har-edge has none yet."""
    from har.edge import __version__

    path = default_bundle_path()
    if not os.environ.get(ENV) and not (path / METADATA_FILE).is_file():
        raise BundleError(f"no --bundle was given and this har-edge {__version__} has no default model yet "
                          f"({path} holds no {METADATA_FILE}); pass --bundle DIR with a bundle from `har export`")
    return load_bundle(path)


def bundle_or_default(path: str | Path | None) -> Bundle:
    """``load_bundle(path)``, or the default bundle when ``path`` is None or empty."""
    return load_bundle(path) if path else load_default_bundle()


def is_default(bundle: Bundle) -> bool:
    """True when ``bundle`` is the default one (the shipped model, or what the environment made default)."""
    return bundle.path.resolve() == default_bundle_path().resolve()


def model_in_use(bundle: Bundle) -> str:
    """One line naming the model: the shipped default (with this version) or the bundle's path, and its actions."""
    from har.edge import __version__

    kind = "pose model" if bundle.is_pose else "model"
    actions = f"{len(bundle.labels)} actions: {', '.join(bundle.labels)}"
    if not is_default(bundle):
        return f"{bundle.path}, {kind}, {actions}"
    if os.environ.get(ENV):
        return f"default {kind} from {ENV}={bundle.path}, {actions}"
    return f"default {kind} shipped with har-edge {__version__}, {actions}"
