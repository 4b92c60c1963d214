"""Pinned files in the pose cache: verified on every use, fetched once, written whole or not at all.

Both pose fetches (the detector and full landmark model out of the mediapipe
wheel, :mod:`.assets`; the lite landmark model out of the ``@mediapipe/pose``
tarball, :mod:`.lite`) follow one pattern, kept here so that it is right in
one place: a cached copy that passes its pinned SHA-256 is used without going
online; otherwise the cache folder is created, the archive fetched, the one
member copied out to a temporary file beside its final name, checked against
its pin and only then renamed (so a reader never sees half a model), and the
cache read back the same way a later run reads it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, TypeVar

from har.edge.cache import cache_root
from har.edge.digest import sha256_file
from har.edge.errors import HarError

T = TypeVar("T")


class PoseModelsError(HarError, OSError):
    """The pose models are missing, altered, or cannot be fetched; the message says what to do.

    ``problem`` is the cause alone (e.g. pip's last line), for callers that
    phrase their own sentence around it.
    """

    def __init__(self, message: str, problem: str | None = None):
        super().__init__(message)
        self.problem = problem or message


@dataclass(frozen=True)
class PinnedFile:
    """One model file inside a published archive, and what it must hash to."""

    member: str  # path inside the archive
    sha256: str
    size: int


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/har/pose``, or ``~/.cache/har/pose`` when XDG_CACHE_HOME is unset or empty."""
    return cache_root() / "pose"


def cache_folder(cache_dir: str | Path | None) -> Path:
    """``cache_dir``, or the default pose cache when it is None."""
    return Path(cache_dir) if cache_dir is not None else default_cache_dir()


def verify(path: Path, pinned: PinnedFile, what: str, hint: str) -> None:
    """Refuse ``path`` unless it hashes to ``pinned.sha256``; ``what`` names the model, ``hint`` the fix."""
    digest = sha256_file(path)
    if digest != pinned.sha256:
        raise PoseModelsError(f"{path} is not {what} this version expects (sha256 {digest[:12]}..., "
                              f"expected {pinned.sha256[:12]}...); delete it and {hint}")


def cached_or_fetch(folder: Path, read: Callable[[Path], T], fetch: Callable[[Path], None], force: bool) -> T:
    """``read(folder)`` when it passes (unless ``force``); else create ``folder``, ``fetch`` into it, read again."""
    if not force:
        try:
            return read(folder)
        except PoseModelsError:
            pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PoseModelsError(f"cannot create the cache folder {folder} ({e.strerror}); pass another --cache-dir") \
            from None
    fetch(folder)
    return read(folder)


def install(source: BinaryIO, folder: Path, name: str, pinned: PinnedFile, what: str, hint: str) -> Path:
    """Copy ``source`` to ``folder/name`` through a temporary file, verified before the rename.

    At most ``pinned.size + 1`` bytes are read, so an archive member that
    claims a small size but streams more cannot fill the disk.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
    try:
        with source, os.fdopen(fd, "wb") as out:
            _copy_at_most(source, out, pinned.size + 1)
        verify(Path(tmp), pinned, what, hint)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the models are not secret
        os.replace(tmp, folder / name)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return folder / name


def _copy_at_most(source: BinaryIO, out: BinaryIO, limit: int) -> None:
    left = limit
    while left > 0 and (chunk := source.read(min(left, 1 << 20))):
        out.write(chunk)
        left -= len(chunk)

