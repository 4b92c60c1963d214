"""Unpack dataset archives (zip, tar, RAR) safely and atomically.

The public action datasets ship as RAR (UCF50, UCF101, HMDB51, whose RAR even
holds one RAR per class), which Python cannot read alone. RAR goes to the
first extractor found: ``unrar``, ``unar``, ``bsdtar``, ``7z``/``7zz``, or the
``rarfile`` module; zip and tar use the standard library.

Three guarantees:

* nothing lands outside the destination: every member name is checked before
  anything is written (for RAR the chosen tool lists the members first:
  ``unrar lb``, ``lsar -j``, ``bsdtar -tf``, ``7z l -ba -slt``), so an archive
  with an absolute or ``..`` path is refused whole; links pointing outside
  are removed and refused after extraction;
* :func:`extract` (and :func:`staged`, which the dataset download uses to
  build its own layout) is atomic: it unpacks into a hidden folder beside the
  destination, writes a ``.complete`` marker, and renames it into place, so a
  crash, a full disk or a corrupt archive never leaves a half dataset that
  looks finished;
* two processes never unpack into one destination at once (:func:`dest_lock`,
  an ``flock`` beside it), and leftovers are removed only when the process
  that made them is gone.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from har.edge.download import file_lock
from har.edge.errors import HarError

log = logging.getLogger(__name__)

MARKER = ".complete"
APT_HINT = "sudo apt-get install unar (or libarchive-tools for bsdtar)"


class ArchiveError(HarError, ValueError):
    """An archive that cannot be unpacked; the message says what to do."""


def _kind(path: Path) -> str:
    name = path.name.lower()
    with open(path, "rb") as f:
        head = f.read(8)
    if head.startswith(b"Rar!\x1a\x07"):
        return "rar"
    if head.startswith(b"PK"):
        return "zip"
    if name.endswith(".rar"):
        return "rar"
    if name.endswith(".zip"):
        return "zip"
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ")) or name.endswith((".tar", ".tgz", ".tar.gz",
                                                                            ".tar.bz2", ".tar.xz")):
        return "tar"
    try:
        if tarfile.is_tarfile(path):
            return "tar"
    except (EOFError, OSError, zlib.error):  # a truncated .tar.gz fails inside gzip
        pass
    raise ArchiveError(f"{path} is not a zip, tar or RAR archive (corrupt or incomplete download?); "
                       "delete it and download again")


def _safe_member(name: str, archive: Path) -> None:
    p = PurePosixPath(name.replace("\\", "/"))
    if p.is_absolute() or ".." in p.parts or (p.parts and ":" in p.parts[0]):
        raise ArchiveError(f"{archive} holds an unsafe path {name!r} (outside the destination); refusing it")


def _extract_zip(archive: Path, out: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                _safe_member(name, archive)
            bad = z.testzip()
            if bad is not None:
                raise ArchiveError(f"{archive} is corrupt (bad CRC in {bad}); delete it and download again")
            z.extractall(out)
    except (zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise ArchiveError(f"{archive} is not a readable zip archive ({e}); delete it and download again") from e


def _extract_tar(archive: Path, out: Path) -> None:
    try:
        with tarfile.open(archive) as t:
            members = t.getmembers()
            for m in members:
                _safe_member(m.name, archive)
                if (m.issym() or m.islnk()) and (m.linkname.startswith("/") or ".." in m.linkname.split("/")):
                    raise ArchiveError(f"{archive} holds a link {m.name} -> {m.linkname} leaving the destination")
            if hasattr(tarfile, "data_filter"):
                t.extractall(out, members=members, filter="data")
            else:  # pragma: no cover - Python < 3.11.4
                t.extractall(out, members=members)
    except (tarfile.TarError, EOFError, OSError) as e:
        if isinstance(e, OSError) and not isinstance(e, EOFError) and e.errno is not None:
            raise
        raise ArchiveError(f"{archive} is not a readable tar archive ({e}); delete it and download again") from e


def _rar_commands() -> list[tuple[str, Callable[[Path, Path], list[str]]]]:
    return [
        ("unrar", lambda a, o: ["unrar", "x", "-o+", "-idq", "-y", str(a), str(o) + os.sep]),
        ("unar", lambda a, o: ["unar", "-q", "-f", "-D", "-nr", "-o", str(o), str(a)]),
        ("bsdtar", lambda a, o: ["bsdtar", "-x", "-f", str(a), "-C", str(o)]),
        ("7z", lambda a, o: ["7z", "x", "-y", "-bd", f"-o{o}", str(a)]),
        ("7zz", lambda a, o: ["7zz", "x", "-y", "-bd", f"-o{o}", str(a)]),
    ]


def rar_tool() -> str | None:
    """Name of the RAR extractor that will be used, or None when there is none."""
    preferred = os.environ.get("HAR_RAR_TOOL")  # to pick one when several are installed
    for name, _ in _rar_commands():
        if shutil.which(name) and (not preferred or preferred == name):
            return name
    if not preferred or preferred == "rarfile":
        try:
            import rarfile  # noqa: F401
        except ImportError:
            return None
        return "rarfile"
    return None


def _rar_members(tool: str, archive: Path) -> list[str]:
    """Member names as the extraction tool itself reads them (what it would write)."""
    if tool == "unar":
        if shutil.which("lsar") is None:
            raise ArchiveError(f"unar is installed without lsar, which is needed to check {archive.name} before "
                               "unpacking; reinstall unar (it ships lsar) or set HAR_RAR_TOOL to another tool")
        cmd = ["lsar", "-j", str(archive)]
    else:
        cmd = {"unrar": ["unrar", "lb", "-p-", str(archive)], "bsdtar": ["bsdtar", "-tf", str(archive)],
               "7z": ["7z", "l", "-ba", "-slt", str(archive)], "7zz": ["7zz", "l", "-ba", "-slt", str(archive)]}[tool]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="surrogateescape", stdin=subprocess.DEVNULL)
    if res.returncode != 0:
        _tool_failed(tool, archive, res)
    if tool == "unar":
        try:
            return [str(e["XADFileName"]) for e in json.loads(res.stdout).get("lsarContents", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise ArchiveError(f"lsar could not list {archive} ({e}); the archive is corrupt or incomplete: "
                               "delete it and download again") from e
    if tool in ("7z", "7zz"):
        return [m.group(1) for m in re.finditer(r"^Path = (.*)$", res.stdout, re.MULTILINE)]
    return res.stdout.splitlines()


def _tool_failed(tool: str, archive: Path, res: subprocess.CompletedProcess) -> None:
    lines = [ln.strip() for ln in (res.stderr + res.stdout).splitlines() if ln.strip()]
    why = lines[-1] if lines else f"exit status {res.returncode}"
    raise ArchiveError(f"{archive} could not be unpacked by {tool} ({why}); the archive is corrupt or "
                       "incomplete: delete it and download again")


def _extract_rar(archive: Path, out: Path) -> None:
    tool = rar_tool()
    if tool is None:
        raise ArchiveError(f"{archive.name} is a RAR archive and no RAR extractor is installed; run `{APT_HINT}` "
                           "(or brew install unar on macOS) and rerun")
    if tool == "rarfile":
        import rarfile

        try:
            with rarfile.RarFile(archive) as r:
                for name in r.namelist():
                    _safe_member(name, archive)
                r.extractall(out)
        except rarfile.Error as e:
            raise ArchiveError(f"{archive} could not be unpacked ({e}); delete it and download again") from e
        return
    for name in _rar_members(tool, archive):  # before anything is written: the tools' own checks vary
        _safe_member(name, archive)
    cmd = dict(_rar_commands())[tool](archive, out)
    log.debug("running %s", " ".join(cmd))
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if res.returncode != 0:
        _tool_failed(tool, archive, res)


def extract_into(archive: str | Path, out: str | Path, nested: bool = False) -> None:
    """Unpack ``archive`` into the existing folder ``out`` (not atomic; see :func:`extract`).

    ``nested`` also unpacks every archive found inside, and deletes it (HMDB51
    ships one RAR per class inside its RAR).
    """
    archive, out = Path(archive), Path(out)
    if not archive.is_file():
        raise ArchiveError(f"archive {archive} does not exist")
    before = set(out.rglob("*"))
    {"zip": _extract_zip, "tar": _extract_tar, "rar": _extract_rar}[_kind(archive)](archive, out)
    _check_inside(out)
    added = set(out.rglob("*")) - before
    if not any(p.is_file() for p in added):  # some tools exit 0 on a corrupt archive and write nothing
        raise ArchiveError(f"{archive} unpacked to no files: the archive is corrupt or empty; delete it and "
                           "download again")
    if nested:
        inner = sorted(p for p in added
                       if p.is_file() and p.suffix.lower() in (".rar", ".zip", ".tar", ".tgz", ".gz"))
        for p in inner:
            if p.suffix.lower() == ".gz" and not p.name.lower().endswith(".tar.gz"):
                continue
            extract_into(p, p.parent, nested=True)
            p.unlink()


def _check_inside(out: Path) -> None:
    root = out.resolve()
    for p in out.rglob("*"):
        if p.is_symlink():
            target = (p.parent / os.readlink(p)).resolve()
            if root not in target.parents and target != root:
                p.unlink()
                raise ArchiveError(f"the archive holds a link {p.name} pointing outside the destination; refusing it")


def is_complete(dest: str | Path) -> bool:
    return (Path(dest) / MARKER).is_file()


def read_marker(dest: str | Path) -> dict:
    try:
        return json.loads((Path(dest) / MARKER).read_text() or "{}")
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def dest_lock(dest: Path) -> Iterator[None]:
    """Hold the lock beside ``dest`` (``.<name>.lock``) while unpacking into it and publishing it."""
    with file_lock(dest.parent / f".{dest.name}.lock"):
        yield


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host still runs: its leftovers (staging folders, temp shards) stay."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def staging_dir(dest: Path) -> Path:
    """A fresh hidden folder beside ``dest`` (same file system, so the final rename is atomic).

    Leftovers of crashed runs (``.<name>.partial-<pid>-*`` whose process is
    gone) are removed; a live process's folder is left alone.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in dest.parent.glob(f".{dest.name}.partial-*"):
        m = re.match(rf"\.{re.escape(dest.name)}\.partial-(\d+)-", stale.name)
        if m and int(m.group(1)) != os.getpid() and not pid_alive(int(m.group(1))):
            shutil.rmtree(stale, ignore_errors=True)  # never carries a marker, so it was never used
    tmp = dest.parent / f".{dest.name}.partial-{os.getpid()}-{time.monotonic_ns()}"
    tmp.mkdir()
    return tmp


def publish(tmp: Path, dest: Path, info: dict | None = None) -> Path:
    """Write the marker into ``tmp`` and rename it to ``dest``, replacing an older complete ``dest``."""
    (tmp / MARKER).write_text(json.dumps(info or {}, indent=2, sort_keys=True) + "\n")
    old = None
    if dest.exists():
        if not is_complete(dest) and any(dest.iterdir()):
            raise ArchiveError(f"{dest} exists and was not made by this tool; move it away and rerun")
        old = dest.parent / f".{dest.name}.old-{os.getpid()}"
        os.replace(dest, old)
    os.replace(tmp, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return dest


@contextlib.contextmanager
def staged(dest: Path, info: dict) -> Iterator[Path]:
    """Yield a staging folder; when the block succeeds, publish it as ``dest`` with ``info`` in the marker.

    The caller holds :func:`dest_lock`. ``info`` may be filled in inside the
    block. On any error the staging folder is removed and ``dest`` is left as
    it was; a full disk becomes an :class:`ArchiveError` that says so.
    """
    tmp = staging_dir(dest)
    try:
        yield tmp
        publish(tmp, dest, info)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        raise ArchiveError(f"disk full while unpacking into {dest.parent}; free space and rerun") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def extract(archive: str | Path, dest: str | Path, nested: bool = False, info: dict | None = None) -> Path:
    """Unpack ``archive`` into ``dest`` atomically; a complete ``dest`` is returned as it is.

    ``info`` is stored in the ``.complete`` marker (e.g. the archive's sha256).
    """
    archive, dest = Path(archive), Path(dest)
    with dest_lock(dest):
        if not is_complete(dest):
            with staged(dest, {"archive": archive.name, **(info or {})}) as tmp:
                extract_into(archive, tmp, nested=nested)
    return dest
