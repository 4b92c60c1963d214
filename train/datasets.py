"""Download the public action datasets into the layout the trainer reads.

Every dataset lands as ``<root>/<name>/<Class>/<video>`` (whatever folder
nesting its archive has is flattened), so :func:`har.train.dataset.list_videos`
works on ``<root>/<name>``, and its official train/test splits, where it has
any, are written in one format: ``<root>/<name>/splits/trainlist0N.txt`` and
``testlist0N.txt``, one ``Class/video.avi`` per line (UCF101's own format;
HMDB51's per-class ``video.avi 1|2|0`` files are converted).

| name   | archives (size)                                    | classes | official protocol |
|--------|----------------------------------------------------|---------|-------------------|
| ucf50  | UCF50.rar (3.2 GB)                                 | 50      | leave-one-group-out over 25 groups; no split files |
| ucf101 | UCF101.rar (6.5 GB) + recognition splits zip       | 101     | 3 train/test splits |
| hmdb51 | hmdb51_org.rar (2.1 GB, a RAR of RARs) + splits RAR | 51     | 3 train/test splits (70/30 per class) |

Archives go to ``<root>/downloads/`` and resume when interrupted. Published
checksums are verified; where none is published, the sha256 of the first
download *that unpacked* is recorded in ``<root>/downloads/manifest.json``
(keyed by URL) and later runs check the archive against it; a corrupt first
download is never recorded, so it cannot block the dataset. ``base_url`` (or
``$HAR_DATASET_MIRROR``) fetches the same file names from a mirror.

Data accumulates: asking for other ``classes`` unpacks those *and* the ones
already there. Concurrent runs are safe: each archive download and each
unpack-and-publish holds an ``flock`` (see :mod:`har.edge.download`,
:func:`har.train.archives.dest_lock`).
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlparse

from har.edge.download import Downloaded, DownloadError, MismatchError, download, file_lock
from har.edge.errors import HarError
from har.train.archives import ArchiveError, dest_lock, extract_into, is_complete, read_marker, staged
from har.train.dataset import VIDEO_EXTS

log = logging.getLogger(__name__)

MIRROR_ENV = "HAR_DATASET_MIRROR"
MANIFEST = "manifest.json"
#: Free space asked for before unpacking, as a multiple of the archive's size. Videos are already
#: compressed, so a flat archive unpacks to about its own size (+10%). A nested one (HMDB51) first
#: becomes one RAR per class (about the archive's size), each then unpacked beside them and deleted;
#: the bound counts both at full size, so it is safe whatever the inner RARs compress.
UNPACK_FACTOR = 1.1
NESTED_UNPACK_FACTOR = 2.1


class DatasetDownloadError(HarError, ValueError):
    """A dataset that cannot be downloaded or unpacked; the message says what to do."""


@dataclass(frozen=True)
class Remote:
    """One file to download. Checksums are verified when set; ``source`` says where they come from."""

    url: str
    size: int | None = None  # exact bytes
    sha256: str | None = None
    md5: str | None = None
    approx_bytes: int | None = None  # for the up-front disk-space check when no exact size is known
    source: str = ""

    @property
    def filename(self) -> str:
        return PurePosixPath(urlparse(self.url).path).name

    def at(self, base_url: str | None) -> str:
        return f"{base_url.rstrip('/')}/{self.filename}" if base_url else self.url


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    title: str
    videos: Remote
    splits: Remote | None = None
    split_format: str | None = None  # "ucf101" | "hmdb51" | None (no official split files)
    nested: bool = False  # archives inside the archive (HMDB51)
    num_classes: int = 0
    protocol: str = ""


_HMDB = "http://serre-lab.clps.brown.edu/wp-content/uploads/2013/10"
DATASETS: dict[str, DatasetSpec] = {s.name: s for s in (
    DatasetSpec(
        "ucf50", "UCF50 (CRCV, University of Central Florida)",
        Remote("https://www.crcv.ucf.edu/data/UCF50.rar", approx_bytes=3_233_554_570,
               source="no published checksum; the sha256 of the first download is recorded"),
        num_classes=50,
        protocol="leave-one-group-out cross-validation over its 25 groups (gNN in file names); no split "
                 "files exist, so train with the group-disjoint split of `har train`",
    ),
    DatasetSpec(
        "ucf101", "UCF101 (CRCV, University of Central Florida)",
        Remote("https://www.crcv.ucf.edu/data/UCF101/UCF101.rar", md5="6463accf4bbc20fa6418ab7f159e6149",
               approx_bytes=6_950_000_000, source="md5 as recorded by other projects' UCF101 loaders"),
        Remote("https://www.crcv.ucf.edu/data/UCF101/UCF101TrainTestSplits-RecognitionTask.zip", size=113_943,
               sha256="5c0d1a53b8ed364a2ac830a73f405e51bece7d98ce1254fd19ed4a36b224bd27",
               source="tensorflow_datasets url_checksums/ucf101.txt"),
        split_format="ucf101", num_classes=101, protocol="three official train/test splits",
    ),
    DatasetSpec(
        "hmdb51", "HMDB51 (Serre lab, Brown University)",
        Remote(f"{_HMDB}/hmdb51_org.rar", approx_bytes=2_100_000_000,
               source="no published checksum; the sha256 of the first download is recorded"),
        Remote(f"{_HMDB}/test_train_splits.rar", approx_bytes=200_000,
               source="no published checksum; the sha256 of the first download is recorded"),
        split_format="hmdb51", nested=True, num_classes=51,
        protocol="three official splits, 70 train / 30 test videos per class",
    ),
)}


@dataclass(frozen=True)
class DatasetResult:
    path: Path  # <root>/<name>: class folders and splits/
    classes: list[str]
    videos: int
    split_files: list[Path]
    reused: bool  # True when a complete copy was already there


def get_spec(name: str) -> DatasetSpec:
    try:
        return DATASETS[name.lower()]
    except KeyError:
        raise DatasetDownloadError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}") from None


def download_dataset(name: str | DatasetSpec, root: str | Path, classes: list[str] | None = None,
                     base_url: str | None = None, progress: bool | None = None) -> DatasetResult:
    """Download, verify and unpack a dataset into ``<root>/<name>``; returns where it is.

    ``classes`` adds those class folders (and their split lines) to the ones
    already there; None means all. A complete copy that has them is reused
    without network access.
    """
    spec = name if isinstance(name, DatasetSpec) else get_spec(name)
    root = Path(root)
    dest = root / spec.name
    base_url = base_url or os.environ.get(MIRROR_ENV) or None
    if _covers(dest, classes):
        return _result(dest, classes, reused=True)
    if dest.is_dir() and not is_complete(dest) and any(dest.iterdir()):
        raise DatasetDownloadError(f"{dest} exists and was not made by `har data download`; move it away "
                                   "(or pass it to `har train --data` as it is) and rerun")
    downloads = root / "downloads"
    try:
        fetched = {r: _fetch(r, downloads, base_url, progress) for r in (spec.videos, spec.splits) if r}
    except DownloadError as e:
        raise DatasetDownloadError(str(e)) from e
    try:
        with dest_lock(dest):
            if _covers(dest, classes):  # another process finished it while this one waited
                return _result(dest, classes, reused=True)
            wanted = _union(dest, classes)
            videos = fetched[spec.videos][0].path
            _check_room(root, videos, spec.nested)
            log.info("unpacking %s into %s", videos.name, dest)
            info = {"dataset": spec.name, "classes": wanted, "split_files": [],
                    "archives": {got.path.name: got.sha256 for got, _ in fetched.values()}}
            with staged(dest, info) as tmp:
                kept = _unpack_videos(spec, videos, tmp, wanted)
                if spec.splits is not None:
                    split_files = _unpack_splits(spec, fetched[spec.splits][0].path, tmp, set(kept))
                    info["split_files"] = [p.name for p in split_files]
    except ArchiveError as e:
        raise DatasetDownloadError(str(e)) from e
    _record(downloads, list(fetched.values()))  # only archives that unpacked are trusted as references
    return _result(dest, classes, reused=False)


def _covers(dest: Path, classes: list[str] | None) -> bool:
    """True when ``dest`` is complete and holds ``classes`` (all of them when None)."""
    if not is_complete(dest):
        return False
    have = read_marker(dest).get("classes")
    return have is None or (classes is not None and set(classes) <= set(have))


def _union(dest: Path, classes: list[str] | None) -> list[str] | None:
    """The classes to unpack: those asked for plus those already in ``dest`` (None: all)."""
    if classes is None:
        return None
    have = (read_marker(dest).get("classes") or []) if is_complete(dest) else []
    return sorted(set(have) | set(classes))


def _result(dest: Path, classes: list[str] | None, reused: bool) -> DatasetResult:
    folders = sorted(p.name for p in dest.iterdir() if p.is_dir() and p.name != "splits"
                     and not p.name.startswith("."))
    if classes:
        folders = [c for c in folders if c in classes]
    n = sum(1 for c in folders for f in (dest / c).iterdir() if f.suffix.lower() in VIDEO_EXTS)
    splits = sorted((dest / "splits").glob("*list0*.txt")) if (dest / "splits").is_dir() else []
    return DatasetResult(dest, folders, n, splits, reused)


def _read_manifest(downloads: Path) -> dict:
    try:
        return json.loads((downloads / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def _fetch(remote: Remote, downloads: Path, base_url: str | None,
           progress: bool | None) -> tuple[Downloaded, str]:
    """Download one archive and check it against its published or recorded checksum; returns it and its URL."""
    url = remote.at(base_url)
    recorded = _read_manifest(downloads).get(url, {})
    sha256 = remote.sha256 or recorded.get("sha256")
    size = remote.size or recorded.get("size")
    log.info("downloading %s", url)
    try:
        got = download(url, downloads / remote.filename, size=size, sha256=sha256, md5=remote.md5,
                       progress=progress, label=remote.filename, approx_size=remote.approx_bytes)
    except MismatchError as e:
        if not recorded or (remote.sha256 and remote.size):
            raise
        raise DownloadError(f"{e}; the expected values are those recorded in {downloads / MANIFEST} when {url} "
                            "first unpacked, so if the server's file has really changed, remove that entry "
                            "too") from e
    return got, url


def _record(downloads: Path, fetched: list[tuple[Downloaded, str]]) -> None:
    """Write each archive's size and sha256 into the manifest, keyed by URL (under a lock: runs share it)."""
    with file_lock(downloads / f"{MANIFEST}.lock"):
        manifest = _read_manifest(downloads)
        new = {url: {"file": got.path.name, "size": got.size, "sha256": got.sha256} for got, url in fetched}
        if all(manifest.get(url) == entry for url, entry in new.items()):
            return
        manifest.update(new)
        tmp = downloads / f"{MANIFEST}.tmp"
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, downloads / MANIFEST)


def _check_room(root: Path, archive: Path, nested: bool) -> None:
    factor = NESTED_UNPACK_FACTOR if nested else UNPACK_FACTOR
    need = int(archive.stat().st_size * factor)
    free = shutil.disk_usage(root).free
    if need > free:
        raise DatasetDownloadError(f"unpacking {archive.name} needs about {need / 1e9:.1f} GB ({factor}x the "
                                   f"archive) but {root} has {free / 1e9:.1f} GB free; free space and rerun "
                                   f"(the archive stays in {archive.parent})")


def _unpack_videos(spec: DatasetSpec, archive: Path, tmp: Path, classes: list[str] | None) -> list[str]:
    raw = tmp / ".raw"
    raw.mkdir()
    extract_into(archive, raw, nested=spec.nested)
    by_class: dict[str, list[Path]] = {}
    for f in sorted(raw.rglob("*")):
        if f.is_file() and f.suffix.lower() in VIDEO_EXTS and f.parent != raw:
            by_class.setdefault(f.parent.name, []).append(f)
    if not by_class:
        raise ArchiveError(f"{archive.name} holds no videos in class folders; is it the right file?")
    if classes:
        missing = [c for c in classes if c not in by_class]
        if missing:
            hints = [f"{c} (did you mean {', '.join(m)}?)" if (m := difflib.get_close_matches(c, by_class, 2))
                     else c for c in missing]
            raise ArchiveError(f"{spec.name} has no class {', '.join(hints)}; classes are: "
                               f"{', '.join(sorted(by_class))}")
        by_class = {c: by_class[c] for c in classes}
    for cls, files in by_class.items():
        (tmp / cls).mkdir()
        for f in files:
            target = tmp / cls / f.name
            if target.exists():
                log.warning("%s: two videos named %s; keeping the first", cls, f.name)
                continue
            os.replace(f, target)
    shutil.rmtree(raw)
    return sorted(by_class)


_HMDB_SPLIT = re.compile(r"^(.+)_test_split(\d+)\.txt$")
_UCF_SPLIT = re.compile(r"^(train|test)list0*(\d+)\.txt$", re.IGNORECASE)


def _unpack_splits(spec: DatasetSpec, archive: Path, tmp: Path, kept: set[str]) -> list[Path]:
    raw = tmp / ".rawsplits"
    raw.mkdir()
    extract_into(archive, raw)
    lists: dict[tuple[str, int], list[str]] = {}
    for f in sorted(raw.rglob("*.txt")):
        lines = [ln.split() for ln in f.read_text(errors="replace").splitlines() if ln.strip()]
        if spec.split_format == "ucf101" and (m := _UCF_SPLIT.match(f.name)):
            key = (m.group(1).lower(), int(m.group(2)))
            lists.setdefault(key, []).extend(parts[0].replace("\\", "/") for parts in lines)
        elif spec.split_format == "hmdb51" and (m := _HMDB_SPLIT.match(f.name)):
            cls, n = m.group(1), int(m.group(2))
            for parts in lines:
                side = {"1": "train", "2": "test"}.get(parts[1] if len(parts) > 1 else "")
                if side:
                    lists.setdefault((side, n), []).append(f"{cls}/{parts[0]}")
    if not lists:
        raise ArchiveError(f"{archive.name} holds no {spec.split_format} split files; is it the right file?")
    out = tmp / "splits"
    out.mkdir()
    written = []
    for (side, n), entries in sorted(lists.items()):
        keep = [e for e in entries if e.split("/", 1)[0] in kept]
        path = out / f"{side}list{n:02d}.txt"
        path.write_text("".join(e + "\n" for e in keep))
        written.append(path)
    shutil.rmtree(raw)
    return written
