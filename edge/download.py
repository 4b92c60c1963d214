"""Resumable, verified HTTP(S) downloads (datasets, pose models, videos: :mod:`har.edge.videourl`).

Datasets are gigabytes served by university web servers, and the device may
sit behind a flaky link, so a transfer must survive interruptions:

* bytes go to ``<name>.part`` and a rerun (or a retry within the same call)
  continues from its size with a ``Range`` request; a server that ignores
  ``Range`` (answers 200) is handled by starting over; a 416 means complete
  only when its ``Content-Range: bytes */N`` says the file is as long as the
  ``.part`` (else the ``.part`` is stale and is dropped); a transfer without
  ``Content-Length`` that ends short of the known size is resumed;
* two processes fetching the same file take turns (``fcntl.flock`` on
  ``<name>.lock``): the second waits, then finds the file complete, instead
  of both appending to one ``.part``;
* an expected size and sha256 are checked before the file gets its final name
  (an atomic rename), so a file under the final name is always whole;
* free space is checked up front when the size is known (or an approximate
  size is given), and a full disk, an unreachable host or a 404 are one clear
  sentence, not a traceback.

Only the standard library: this module runs on the device too.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import logging
import os
import re
import shutil
import socket
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from har.edge.digest import file_digests
from har.edge.errors import HarError
from har.edge.progress import ByteBar

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks, one process at a time is on the user
    fcntl = None

log = logging.getLogger(__name__)

CHUNK = 1 << 20
USER_AGENT = "har-edge"
INSECURE_ENV = "HAR_DOWNLOAD_INSECURE"


class DownloadError(HarError, OSError):
    """A download that cannot finish; the message says what to do next."""


class MismatchError(DownloadError):
    """The file (or the server's announced size) is not the expected size or checksum."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    size: int  # bytes
    sha256: str
    resumed_from: int  # bytes already on disk when this call started (0: fresh)


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if needed); other processes wait for it.

    The lock file is left in place: deleting it would let a waiting process
    lock a file that a newcomer no longer sees.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as f:
        if fcntl is not None:
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            if fcntl is not None:
                fcntl.flock(f, fcntl.LOCK_UN)


def _mb(n: float) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def _network_reason(e: BaseException) -> str | None:
    """A short reason when ``e`` means 'could not reach the host', else None."""
    reason = getattr(e, "reason", e)
    if isinstance(reason, socket.gaierror):
        return "the host name does not resolve (DNS failure or no network)"
    if isinstance(reason, ConnectionRefusedError):
        return "the connection was refused"
    if isinstance(reason, TimeoutError | socket.timeout):
        return "the connection timed out"
    if isinstance(reason, OSError) and reason.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "the network is unreachable"
    return None


_TRANSIENT = (http.client.IncompleteRead, http.client.RemoteDisconnected, ConnectionError, TimeoutError,
              socket.timeout, urllib.error.URLError, http.client.BadStatusLine)


def _content_range_start(value: str | None) -> tuple[int, int | None] | None:
    m = re.match(r"bytes (\d+)-\d+/(\d+|\*)", value or "")
    if not m:
        return None
    return int(m.group(1)), None if m.group(2) == "*" else int(m.group(2))


def download(url: str, dest: str | Path, *, size: int | None = None, sha256: str | None = None,
             md5: str | None = None, progress: bool | None = None, timeout_s: float = 30.0,
             retries: int = 5, backoff_s: float = 1.0, label: str | None = None,
             approx_size: int | None = None) -> Downloaded:
    """Download ``url`` to ``dest``, resuming ``dest.part`` when there is one.

    ``size``/``sha256``/``md5`` are checked when given; a file that fails the
    check is deleted (its bytes could never become right by resuming).
    ``approx_size`` is only for the free-space check when neither ``size``
    nor the server tells the exact size.
    ``progress`` None draws the bar only when stderr is a terminal.
    ``retries`` counts consecutive failures without new bytes, with
    exponential backoff from ``backoff_s``. Concurrent calls for the same
    ``dest`` (other processes included) run one after the other.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with file_lock(dest.with_name(dest.name + ".lock")):
        return _download_locked(url, dest, size, sha256, md5, progress, timeout_s, retries, backoff_s, label,
                                approx_size)


def _download_locked(url: str, dest: Path, size: int | None, sha256: str | None, md5: str | None,
                     progress: bool | None, timeout_s: float, retries: int, backoff_s: float, label: str | None,
                     approx_size: int | None) -> Downloaded:
    part = dest.with_name(dest.name + ".part")
    if dest.is_file():
        return _verified(dest, url, size, sha256, md5, resumed_from=dest.stat().st_size, keep_bad=True)
    bar = ByteBar(label or dest.name, progress)
    resumed_from = part.stat().st_size if part.exists() else 0
    failures = 0
    try:
        while True:
            try:
                if _fetch_once(url, part, size, timeout_s, bar, approx_size):
                    break
                failures = 0  # progress was made but the stream ended early: resume at once
            except DownloadError:
                raise
            except _TRANSIENT as e:
                if isinstance(getattr(e, "reason", e), ssl.SSLCertVerificationError):
                    raise DownloadError(f"the TLS certificate of {urlparse(url).hostname} could not be verified "
                                        f"({getattr(e, 'reason', e).verify_message}); update the system CA "
                                        f"certificates, use a mirror, or if you trust this network set "
                                        f"{INSECURE_ENV}=1 and rerun") from e
                failures += 1
                # A host that does not resolve or refuses is rarely back within seconds: give up
                # after two quick retries rather than half a minute of backoff (a rerun resumes).
                hard = _network_reason(e) not in (None, "the connection timed out")
                if failures > (min(retries, 2) if hard else retries):
                    why = _network_reason(e)
                    host = urlparse(url).hostname
                    if why:
                        raise DownloadError(f"cannot reach {host}: {why}; check the network connection and "
                                            f"rerun (the download resumes), or use a mirror") from e
                    raise DownloadError(f"downloading {url} kept failing ({e}); rerun later, the download "
                                        "resumes where it stopped") from e
                wait = backoff_s * 2 ** (failures - 1)
                log.info("download of %s interrupted (%s); retrying in %.1fs", dest.name, e, wait)
                time.sleep(wait)
    finally:
        bar.close()
    return _verified(part, url, size, sha256, md5, resumed_from=resumed_from, final=dest)


def _fetch_once(url: str, part: Path, size: int | None, timeout_s: float, bar: ByteBar,
                approx_size: int | None = None) -> bool:
    """One request. True when the file is complete, False when the stream ended early."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        part.unlink()
        offset = 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    # Some university servers send an incomplete certificate chain; HAR_DOWNLOAD_INSECURE=1 is the
    # escape hatch (the size and checksum checks still apply).
    context = ssl._create_unverified_context() if os.environ.get(INSECURE_ENV) == "1" else None
    try:
        resp = urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=timeout_s,
                                      context=context)
    except urllib.error.HTTPError as e:
        e.close()
        if e.code == 416 and offset:
            m = re.match(r"bytes \*/(\d+)", e.headers.get("Content-Range") or "")
            server_size = int(m.group(1)) if m else None
            # Complete only when a size (the server's, else the expected one) says so: a bare 416
            # may as well mean "your .part is longer than my file".
            known = server_size if server_size is not None else size
            if known == offset and size in (None, offset):
                return True  # the server has nothing past what we hold
            part.unlink()  # our .part does not match this file: start over
            raise urllib.error.URLError("stale partial file; restarting") from e
        if e.code == 404:
            raise DownloadError(f"{url} was not found (HTTP 404); check the URL, or point at a mirror "
                                "that has the file") from e
        if e.code >= 500 or e.code in (408, 429):
            raise urllib.error.URLError(f"HTTP {e.code} {e.reason}") from e
        raise DownloadError(f"{url}: the server answered HTTP {e.code} {e.reason}; check the URL") from e
    with resp:
        length = resp.headers.get("Content-Length")
        length = int(length) if length and length.isdigit() else None
        mode, range_total = "ab", None
        if offset and resp.status == 206:
            start, range_total = _content_range_start(resp.headers.get("Content-Range")) or (None, None)
            if start != offset:
                part.unlink()
                raise urllib.error.URLError(f"server sent a range other than bytes {offset}-; starting over")
        elif offset:
            log.info("server ignored the resume request for %s; starting over", part.name)
            mode, offset = "wb", 0
        total = offset + length if length is not None else range_total or size
        if size is not None and total is not None and total != size:
            raise MismatchError(f"{url} is {total:,} bytes but {size:,} were expected; the server has a "
                                "different file (a stale mirror?): check the URL")
        if total is not None or approx_size:
            _check_space(part.parent, (total if total is not None else approx_size) - offset, part)
        done = offset
        bar.update(done, total, force=True)
        try:
            with open(part, mode) as f:
                while chunk := resp.read(CHUNK):
                    f.write(chunk)
                    done += len(chunk)
                    bar.update(done, total)
        except OSError as e:
            if e.errno == errno.ENOSPC:
                need = (total - done) if total else 0
                more = f"free {_mb(need + (64 << 20))} and " if need else "free some space and "
                raise DownloadError(f"disk full while writing {part}; {more}rerun, the download resumes") from e
            raise
        bar.update(done, total, force=True)
    if total is None or done >= total:
        return True  # no size known from anywhere: the end of the stream is all there is to go by
    if done == offset:
        raise urllib.error.URLError("the server closed the connection before sending any data")
    return False


def _check_space(folder: Path, need: int, part: Path) -> None:
    free = shutil.disk_usage(folder).free
    if need > free:
        raise DownloadError(f"not enough disk space for {part.name.removesuffix('.part')}: {_mb(need)} "
                            f"needed, {_mb(free)} free in {folder}; free {_mb(need - free + (64 << 20))} "
                            "and rerun")


def _verified(path: Path, url: str, size: int | None, sha256: str | None, md5: str | None, *,
              resumed_from: int, final: Path | None = None, keep_bad: bool = False) -> Downloaded:
    """Check size and hashes of ``path``; rename it to ``final`` when they pass."""
    actual = path.stat().st_size
    name = (final or path).name
    if size is not None and actual != size:
        if not keep_bad:
            path.unlink()
        raise MismatchError(f"{name} is {actual:,} bytes, expected {size:,}; "
                            + ("deleted it, rerun to download again" if not keep_bad else
                               f"delete {path} and rerun"))
    got = file_digests(path, "sha256", *(["md5"] if md5 else []))
    for kind, want in (("sha256", sha256), ("md5", md5)):
        if want and want.lower() != got[kind]:
            if not keep_bad:
                path.unlink()
            raise MismatchError(f"{name} has {kind} {got[kind]}, expected {want} (corrupt transfer or a different "
                                "file on the server); "
                                + ("deleted it, rerun to download again" if not keep_bad else
                                   f"delete {path} and rerun"))
    if final is not None:
        os.replace(path, final)
        path = final
    return Downloaded(path, actual, got["sha256"], resumed_from)
