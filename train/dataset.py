"""List a root of class folders of videos and split it without leakage.

Any layout of ``<root>/<Class>/<video>`` works: UCF50, UCF101, HMDB51 and the
synthetic set alike. The *group* of a video is what its name reveals of its
source (:func:`group_of`): UCF's ``gNN`` (one actor + scene) when the name has
it, else the name without a trailing clip number (HMDB51 cuts
``..._goo_0.avi``, ``_1``, ``_2`` from one source video). Splits are made over
groups, so no group ever sits on two sides: clips cut from the same source
would otherwise make test accuracy meaningless. Sources the names do not
reveal (one actor in differently named videos) cannot be kept apart.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.edge.capture import VIDEO_EXTS
from har.edge.errors import HarError
from har.models.tracks import TRACK_SUFFIX

_GROUP = re.compile(r"_g(\d+)_", re.IGNORECASE)
# HMDB51's names end in its quality tag and the clip's index within one source video.
_HMDB_CLIP = re.compile(r"(_(?:goo|med|bad))_\d+$")


class DatasetError(HarError, ValueError):
    """A data root the loader cannot use; the message says what to do."""


@dataclass(frozen=True)
class Video:
    path: Path
    label: str
    group: str


def group_of(path: Path, label: str) -> str:
    """``v_X_g07_c02.avi`` -> ``g07``; an HMDB51 clip -> its source video; else the video itself.

    HMDB51 cuts several clips from one source video and numbers them after the
    quality tag (``April_09_brush_hair_u_nm_np1_ba_goo_0`` .. ``_2``): those are
    one group. Only that pattern is stripped: a user's ``clip_1.mp4`` or
    ``IMG_1234.MOV`` stays its own group, since stripping every trailing number
    would fold whole classes into one group and leave nothing to test on.
    """
    m = _GROUP.search(path.name)
    if m:
        return f"g{int(m.group(1)):02d}"
    source = _HMDB_CLIP.sub(r"\1", path.stem)
    return f"{label}/{source}"


def list_videos(root: Path, classes: list[str] | None = None) -> tuple[list[Video], list[str]]:
    """Return the videos under ``root`` and the sorted label list."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"data root {root} does not exist; run `har data synth --out {root}` or point --data at a folder of class folders")
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if classes:
        found = {p.name for p in folders}
        missing = [c for c in classes if c not in found]
        if missing:
            raise DatasetError(f"classes not found under {root}: {', '.join(missing)} (have: {', '.join(sorted(found)) or 'none'})")
        folders = [root / c for c in classes]
    videos = [
        Video(f, d.name, group_of(f, d.name))
        for d in folders
        for f in sorted(d.rglob("*"))
        if f.is_file() and (f.suffix.lower() in VIDEO_EXTS or f.name.endswith(TRACK_SUFFIX))
    ]
    labels = sorted({v.label for v in videos})
    if len(labels) < 2:
        raise DatasetError(f"{root} needs at least two class folders with videos (found {len(labels)}); expected <root>/<Class>/<video>.mp4")
    return videos, labels


def sample_per_class(videos: list[Video], labels: list[str], per_class: int, seed: int) -> Iterator[Video]:
    """Up to ``per_class`` videos of each label, labels in order, drawn without replacement from ``seed``.

    One draw for both grids of ``har data show`` (frames of videos, skeletons
    of generated takes), so the same seed picks the same clips in either.
    """
    rng = np.random.default_rng(seed)
    for lab in labels:
        mine = [v for v in videos if v.label == lab]
        for k in rng.permutation(len(mine))[:per_class]:
            yield mine[k]


def split_groups(videos: list[Video], val_fraction: float = 0.15, test_fraction: float = 0.25,
                 seed: int = 0) -> dict[str, list[Video]]:
    """Seeded, group-disjoint train/val/test split, stratified by class.

    UCF-style groups shared by all classes (``g01`` in every class) are split as
    a whole, as UCF's official protocol does; per-video groups are split within
    each class so every class lands on every side.
    """
    rng = np.random.default_rng(seed)
    by_group: dict[str, list[Video]] = defaultdict(list)
    for v in videos:
        by_group[v.group].append(v)
    shared = [g for g, vs in by_group.items() if len({v.label for v in vs}) > 1]
    strata: list[list[str]]
    if shared:
        strata = [sorted(by_group)]
    else:
        per_class: dict[str, list[str]] = defaultdict(list)
        for g, vs in sorted(by_group.items()):
            per_class[vs[0].label].append(g)
        strata = list(per_class.values())
    assignment: dict[str, str] = {}
    for groups in strata:
        order = list(rng.permutation(sorted(groups)))
        n = len(order)
        n_test = max(1, round(n * test_fraction)) if n >= 3 else 0
        n_val = max(1, round(n * val_fraction)) if n - n_test >= 2 and val_fraction > 0 else 0
        for i, g in enumerate(order):
            assignment[g] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    out: dict[str, list[Video]] = {"train": [], "val": [], "test": []}
    for v in videos:
        out[assignment[v.group]].append(v)
    return out
