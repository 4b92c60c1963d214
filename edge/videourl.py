"""Video URLs: which are files to download and which are live streams, and a cache of the downloaded ones.

:func:`fetch_video` turns a URL into a local file for the predict commands:
a URL whose path ends in a video extension is downloaded (resumably, by
:func:`har.edge.download.download`) into a cache keyed by the URL; a YouTube
page goes through the optional ``yt-dlp``. Any other ``http://`` or
``rtsp://`` URL is a live stream and is not this module's business (see
:func:`is_video_url`).
"""

from __future__ import annotations

import hashlib
import logging
import sys
from pathlib import Path
from urllib.parse import urlparse

from har.edge.cache import cache_root
from har.edge.capture import VIDEO_EXTS
from har.edge.download import DownloadError, download

log = logging.getLogger(__name__)

YOUTUBE_HOSTS = ("youtube.com", "youtu.be", "youtube-nocookie.com")


def is_youtube_url(url: str) -> bool:
    host = (urlparse(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in YOUTUBE_HOSTS)


def is_video_url(url: str) -> bool:
    """True for an http(s) URL to be downloaded as a file rather than read as a live stream.

    The rule: a YouTube page, or an http(s) URL whose path ends in a known
    video extension (``.mp4 .avi .mkv .mov .webm .m4v .gif .mpg .mpeg``).
    Everything else (``rtsp://``, an MJPEG ``http://`` camera) stays a stream.
    """
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https"):
        return False
    return is_youtube_url(url) or parsed.path.lower().endswith(VIDEO_EXTS)


def default_cache_dir() -> Path:
    return cache_root() / "videos"


def fetch_video(url: str, cache_dir: str | Path | None = None, progress: bool | None = None) -> Path:
    """Return a local file for a video URL, downloading it once into ``cache_dir``.

    The cache file is named by a hash of the URL, so the same URL is fetched
    once and a half-finished download resumes on the next call.
    """
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    key = hashlib.sha256(url.encode()).hexdigest()[:20]
    if is_youtube_url(url):
        return _fetch_youtube(url, cache, key, progress)
    if not is_video_url(url):
        raise DownloadError(f"{url} does not end in a video extension ({' '.join(VIDEO_EXTS)}), so it is "
                            "read as a live stream, not downloaded")
    ext = Path(urlparse(url).path).suffix.lower()
    return download(url, cache / f"{key}{ext}", progress=progress,
                    label=Path(urlparse(url).path).name or url).path


class _QuietYtDlp:
    """yt-dlp's messages at debug level: its final error is raised as one sentence instead."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    info = warning = error = debug


_NETWORK_WORDS = ("name or service not known", "temporary failure in name resolution", "getaddrinfo",
                  "network is unreachable", "connection refused", "timed out", "failed to resolve",
                  "no address associated", "unable to connect", "proxyerror", "nodename nor servname",
                  "transporterror", "connection aborted", "remote end closed")


def _fetch_youtube(url: str, cache: Path, key: str, progress: bool | None) -> Path:
    done = sorted(p for p in cache.glob(f"{key}.*") if p.suffix.lower() in VIDEO_EXTS)
    if done:
        return done[0]
    try:
        import yt_dlp
    except ImportError as e:
        raise DownloadError("YouTube URLs need yt-dlp: run `pip install 'har-edge[youtube]'`, or download "
                            "the video yourself and pass the file") from e
    cache.mkdir(parents=True, exist_ok=True)
    show = sys.stderr.isatty() if progress is None else progress
    opts = {"outtmpl": str(cache / f"{key}.%(ext)s"), "format": "best[ext=mp4]/best", "noplaylist": True,
            "quiet": True, "no_warnings": True, "noprogress": not show, "retries": 3, "socket_timeout": 20,
            "logger": _QuietYtDlp()}
    try:
        with yt_dlp.YoutubeDL(opts) as ydl:
            ydl.download([url])
    except Exception as e:  # yt-dlp raises its own DownloadError/ExtractorError with the cause in text
        text = str(e)
        if any(w in text.lower() for w in _NETWORK_WORDS):
            raise DownloadError(f"cannot reach YouTube for {url}: check the network connection and rerun, or "
                                "download the video elsewhere and pass the file") from e
        raise DownloadError(f"yt-dlp could not fetch {url}: {text.removeprefix('ERROR: ')}") from e
    done = sorted(p for p in cache.glob(f"{key}.*") if p.suffix.lower() in VIDEO_EXTS)
    if not done:
        raise DownloadError(f"yt-dlp finished but left no video for {url} in {cache}; try another URL")
    return done[0]


def local_video(arg: str, cache_dir: str | Path | None = None, progress: bool | None = None) -> Path:
    """A path for ``arg``: a local file as it is, a video URL downloaded (and cached) first.

    Used by the commands that need a whole file (``predict``); a URL that is
    not a video file (see :func:`is_video_url`) is refused with a hint.
    """
    if arg.startswith("file://"):
        arg = urlparse(arg).path
    if "://" not in arg:
        path = Path(arg)
        if not path.is_file():
            raise DownloadError(f"{path}: no such file; pass a video file or a video URL")
        return path
    if not is_video_url(arg):
        raise DownloadError(f"{arg} is not a video file URL (its path does not end in {' '.join(VIDEO_EXTS)} "
                            "and it is not YouTube); live streams work with `har-edge run --source URL`")
    return fetch_video(arg, cache_dir, progress)
