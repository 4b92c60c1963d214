"""Evaluation protocols: which videos train, validate and test, fold by fold.

One number from one split says little about a dataset of 25 actor groups, so
``--protocol`` picks how the data is cut:

========================  =====================================================
``holdout`` (default)     one seeded train/val/test split by group
``logo``                  leave one group out: one fold per group (25 on UCF50);
                          only for groups shared by classes (UCF ``gNN``)
``kfold:K``               K folds of whole groups, stratified by class when
                          groups belong to one class
``official:1`` or         the dataset's own splits from
``official:1,2,3``        ``<data>/splits/trainlist0N.txt`` / ``testlist0N.txt``
========================  =====================================================

No protocol puts a group on two sides of a fold (official lists that do are
refused). A group is only what the file names reveal
(:func:`har.train.dataset.group_of`: UCF ``gNN``, one actor and scene, else one
source video); one actor filmed in differently named videos is not detected.
``logo`` is refused when groups are per source video: it would train one model
per video. In the fold protocols the validation set for early stopping is
carved out of the fold's own training groups, so the held-out fold influences
nothing.

Cross-validation measures the recipe; the model it saves is trained once more
on every video (:func:`saved_fold`), so no fold's small test set stands for it.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.train.dataset import DatasetError, Video, split_groups

log = logging.getLogger(__name__)
PROTOCOLS = ("holdout", "logo", "kfold:K", "official:N")


@dataclass(frozen=True)
class Fold:
    """One train/val/test assignment of videos; ``name`` says what is held out."""

    name: str
    train: list[Video]
    val: list[Video]
    test: list[Video]

    def groups(self) -> dict[str, list[str]]:
        return {k: sorted({v.group for v in getattr(self, k)}) for k in ("train", "val", "test")}


def parse_protocol(spec: str) -> tuple[str, list[int]]:
    """``"kfold:5"`` -> ``("kfold", [5])``; a malformed spec is a ValueError that shows the valid forms."""
    kind, _, arg = str(spec).strip().partition(":")
    usage = f"unknown protocol {spec!r}; use one of {', '.join(PROTOCOLS)} (e.g. kfold:5, official:1,2,3)"
    if kind in ("holdout", "logo"):
        if arg:
            raise ValueError(usage)
        return kind, []
    if kind not in ("kfold", "official") or not arg:
        raise ValueError(usage)
    try:
        nums = [int(a) for a in arg.split(",")]
    except ValueError:
        raise ValueError(usage) from None
    if kind == "kfold" and (len(nums) != 1 or nums[0] < 2):
        raise ValueError(f"protocol {spec!r}: kfold needs one number of folds >= 2, e.g. kfold:5")
    if kind == "official" and any(n < 1 for n in nums):
        raise ValueError(f"protocol {spec!r}: official split numbers start at 1, e.g. official:1,2,3")
    return kind, nums


def make_folds(videos: list[Video], protocol: str, val_fraction: float, test_fraction: float, seed: int,
               data_root: Path | None = None) -> list[Fold]:
    """The folds of ``protocol`` over ``videos``, in a fixed order (fold 1 first)."""
    kind, nums = parse_protocol(protocol)
    if kind == "holdout":
        parts = split_groups(videos, val_fraction, test_fraction, seed)
        return [Fold("holdout", parts["train"], parts["val"], parts["test"])]
    rng = np.random.default_rng(seed)
    if kind == "logo":
        _refuse_logo_on_per_video_groups(videos)
        test_sets = [[g] for g in sorted({v.group for v in videos})]
        names = [gs[0] for gs in test_sets]
    elif kind == "kfold":
        test_sets = _kfold_groups(videos, nums[0], rng)
        names = [f"fold {i + 1}" for i in range(len(test_sets))]
    else:
        if data_root is None:
            raise ValueError("official splits are read from <data>/splits; pass the data root")
        return [_official_fold(videos, Path(data_root), n, val_fraction, rng) for n in nums]
    if len(test_sets) < 2:
        raise DatasetError(f"protocol {protocol} needs at least 2 groups; found {len(test_sets)}")
    folds = []
    for name, held_out in zip(names, test_sets, strict=True):
        held = set(held_out)
        rest = [v for v in videos if v.group not in held]
        train, val = carve_val(rest, val_fraction, rng)
        folds.append(Fold(name, train, val, [v for v in videos if v.group in held]))
    return folds


def saved_fold(videos: list[Video], protocol: str, val_fraction: float, test_fraction: float, seed: int,
               data_root: Path | None = None) -> Fold:
    """The videos the saved model trains on: holdout's one split, or after cross-validation all of them.

    After a fold protocol nothing is held out (its figures come from the
    folds), so the fold is named ``all`` and its test side is empty; the
    validation groups early stopping watches are carved out as in any fold.
    """
    kind, _ = parse_protocol(protocol)
    if kind == "holdout":
        return make_folds(videos, protocol, val_fraction, test_fraction, seed, data_root)[0]
    train, val = carve_val(videos, val_fraction, np.random.default_rng(seed))
    return Fold("all", train, val, [])


def _refuse_logo_on_per_video_groups(videos: list[Video]) -> None:
    """Leave-one-group-out is meant for a few groups shared by all classes (UCF's 25 ``gNN``).

    Without them each group is one source video of one class: logo would train
    one model per video (thousands on HMDB51), each tested on a single class.
    """
    if len(_strata(videos)) > 1:
        n = len({v.group for v in videos})
        raise DatasetError(f"protocol logo would train {n} models, one per source video, because the video names "
                           f"carry no group shared across classes (UCF's _gNN_); use --protocol kfold:5 or, "
                           f"where the dataset has split lists, official:1,2,3")


def _strata(videos: list[Video]) -> list[list[str]]:
    """Groups to split together: all of them when groups span classes (UCF ``gNN``), else per class."""
    by_group: dict[str, set[str]] = defaultdict(set)
    for v in videos:
        by_group[v.group].add(v.label)
    if any(len(labels) > 1 for labels in by_group.values()):
        return [sorted(by_group)]
    per_class: dict[str, list[str]] = defaultdict(list)
    for g, labels in sorted(by_group.items()):
        per_class[next(iter(labels))].append(g)
    return [per_class[c] for c in sorted(per_class)]


def _kfold_groups(videos: list[Video], k: int, rng: np.random.Generator) -> list[list[str]]:
    """Deal shuffled groups round-robin into ``k`` folds, stratum by stratum (so classes stay balanced)."""
    folds: list[list[str]] = [[] for _ in range(k)]
    n_groups = len({v.group for v in videos})
    if n_groups < k:
        raise DatasetError(f"kfold:{k} needs at least {k} groups; the data has {n_groups}")
    offset = 0
    for groups in _strata(videos):
        for i, g in enumerate(rng.permutation(groups)):
            folds[(offset + i) % k].append(str(g))
        offset += len(groups)
    return [sorted(f) for f in folds]


def carve_val(videos: list[Video], val_fraction: float, rng: np.random.Generator) -> tuple[list[Video], list[Video]]:
    """Split training videos into (train, val) by whole groups, per stratum."""
    val_groups: set[str] = set()
    for groups in _strata(videos):
        n_val = max(1, round(len(groups) * val_fraction)) if len(groups) >= 2 and val_fraction > 0 else 0
        val_groups.update(str(g) for g in rng.permutation(groups)[:n_val])
    return [v for v in videos if v.group not in val_groups], [v for v in videos if v.group in val_groups]


def split_list_paths(root: Path, n: int) -> tuple[Path, Path]:
    return root / "splits" / f"trainlist{n:02d}.txt", root / "splits" / f"testlist{n:02d}.txt"


def read_split_list(path: Path) -> list[str]:
    """Relative video paths of one UCF101-format list (``Class/video.avi [label index]`` a line)."""
    out = []
    for line in path.read_text().splitlines():
        parts = line.strip().split()
        if parts:
            out.append(parts[0].replace("\\", "/"))
    return out


def _official_fold(videos: list[Video], root: Path, n: int, val_fraction: float, rng: np.random.Generator) -> Fold:
    train_file, test_file = split_list_paths(root, n)
    for f in (train_file, test_file):
        if not f.is_file():
            raise DatasetError(f"official split {n} needs {f}; run `har data download` for this dataset, "
                               f"which writes the split lists, or use --protocol holdout")
    # Match case-insensitively: UCF101's lists spell some classes unlike its folders (HandStandPushups).
    by_rel = {v.path.relative_to(root).as_posix().lower(): v for v in videos}
    classes = {v.label.lower() for v in videos}
    sides, missing = {}, 0
    for side, f in (("train", train_file), ("test", test_file)):
        rel = [r for r in read_split_list(f) if r.split("/")[0].lower() in classes]
        found = [by_rel[r.lower()] for r in rel if r.lower() in by_rel]
        missing += len(rel) - len(found)
        if not found:
            raise DatasetError(f"none of the videos in {f} were found under {root}; check --data points at the "
                               f"dataset root the split lists belong to")
        sides[side] = found
    if missing:
        log.warning("official split %d: %d listed video(s) not found under %s were left out", n, missing, root)
    both = sorted(str(v.path.relative_to(root)) for v in {*sides["train"]} & {*sides["test"]})
    if both:
        raise DatasetError(f"official split {n} lists {', '.join(both[:3])} in both {train_file.name} and "
                           f"{test_file.name}; fix the lists so no video is on both sides")
    shared = {v.group for v in sides["train"]} & {v.group for v in sides["test"]}
    if shared:  # the lists are the published protocol: keep them, but say what the file names suggest
        log.warning("official split %d puts %d group(s) (e.g. %s) on both sides by the file-name rule (UCF's gNN, "
                    "or HMDB51's source video); its scores compare with published ones but may be "
                    "optimistic", n, len(shared), ", ".join(sorted(shared)[:3]))
    train, val = carve_val(sides["train"], val_fraction, rng)
    return Fold(f"split {n}", train, val, sides["test"])
