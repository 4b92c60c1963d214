"""Frame sources yielding ``(timestamp_s, frame_bgr)``.

* :class:`FileSource`: a video file, read in order at full speed; timestamps
  are media time (frame index / fps), so results do not depend on how fast
  this machine is. End of file ends the stream, or with ``loop=True`` starts
  the file again with timestamps that keep counting (a stand-in camera for
  demos and soak tests).
* :class:`LiveSource`: a USB/V4L2 camera index or an ``rtsp://``/``http://``
  stream, read on its own thread into a small queue that keeps the newest
  frames. When inference is slower than the camera, old frames are dropped and
  counted, so latency never grows. A source that goes away is reopened with
  backoff and the outage is reported.
* :class:`Picamera2Source`: the Raspberry Pi camera module through picamera2
  (``cv2.VideoCapture(0)`` cannot open it on the libcamera stack).

Live sources yield ``None`` as a gap marker as soon as an outage starts, so
the pipeline can end what was running at the last frame and clear windows
that would otherwise span the gap. A stream that delivers nothing for
``open_timeout_s`` counts as lost (OpenCV's FFmpeg open and read timeouts),
and the reconnect backoff is capped at ``reconnect_max_s``.

Stopping is bounded: :meth:`LiveSource.stop` joins the reader thread (which
is inside ``cap.read()`` most of the time) before the capture is released.
Exiting with the reader still in FFmpeg aborts the process ("FATAL:
exception not rethrown", exit 134).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from har.edge.capture import open_video
from har.edge.errors import HarError

log = logging.getLogger(__name__)

Frame = tuple[float, np.ndarray]


class SourceError(HarError, OSError):
    """A source that cannot be opened; the message says what to check."""


def _has_ffmpeg() -> bool:
    try:
        return bool(cv2.videoio_registry.hasBackend(cv2.CAP_FFMPEG))
    except AttributeError:  # a very old OpenCV
        return False


class FileSource:
    """Every frame of a video file with media-time timestamps."""

    live = False

    def __init__(self, path: str | Path, realtime: bool = False, loop: bool = False):
        self.path = str(path)
        self.realtime = realtime  # pace frames at the file's fps, like a camera
        self.loop = loop  # start again at the end of the file
        if "://" not in self.path and not Path(self.path).is_file():
            raise SourceError(f"video file {self.path} does not exist")
        self._cap = open_video(self.path)
        if not self._cap.isOpened():
            raise SourceError(f"cannot open {self.path} as a video (corrupt file or unsupported codec)")
        fps = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and 0 < fps < 1000 else 25.0
        self.frames_read = 0
        self.dropped = 0
        self._stopped = False

    def __iter__(self) -> Iterator[Frame | None]:
        t_start = time.monotonic()
        pass_start = 0
        try:
            while not self._stopped:
                ok, frame = self._cap.read()
                if not ok or frame is None:
                    if self._stopped or not self.loop or self.frames_read == pass_start:  # no frames: give up
                        return
                    pass_start = self.frames_read
                    self._cap.release()
                    self._cap = open_video(self.path)
                    continue
                ts = self.frames_read / self.fps
                if self.realtime:
                    time.sleep(max(0.0, t_start + ts - time.monotonic()))
                yield ts, frame
                self.frames_read += 1
        finally:
            self._cap.release()

    @property
    def queue_depth(self) -> int:
        return 0

    def stop(self) -> None:
        self._stopped = True
        self._cap.release()


class LiveSource:
    """A camera or network stream read on its own thread, newest frames kept."""

    live = True

    def __init__(self, target: int | str, queue_size: int = 2, reconnect_max_s: float = 30.0,
                 on_outage: Callable[[bool, str], None] | None = None, width: int | None = None,
                 height: int | None = None, open_timeout_s: float = 10.0):
        self.target = target
        self.reconnect_max_s = reconnect_max_s
        self.open_timeout_s = open_timeout_s
        self.on_outage = on_outage or (lambda down, why: None)
        self.size = (width, height)
        self._init_queue(queue_size)
        self.dropped = 0
        self.frames_read = 0
        self.fps = 30.0
        self._cap = self._open()
        if self._cap is None:
            what = f"camera {target}" if isinstance(target, int) else f"stream {target} within {open_timeout_s:g} s"
            raise SourceError(f"cannot open {what}; check it is connected and not used by another program "
                              "(`har-edge doctor` lists cameras)")
        self._thread = threading.Thread(target=self._run, name="har-source", daemon=True)
        self._thread.start()

    def _open(self):
        if isinstance(self.target, str) and _has_ffmpeg():  # give up on a silent stream instead of blocking
            ms = max(1, round(self.open_timeout_s * 1000))
            cap = cv2.VideoCapture(self.target, cv2.CAP_FFMPEG,
                                   [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        else:
            cap = cv2.VideoCapture(self.target)
        if not cap.isOpened():
            cap.release()
            return None
        w, h = self.size
        if w and h:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, w)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, h)
        fps = cap.get(cv2.CAP_PROP_FPS)
        if fps and np.isfinite(fps) and 0 < fps < 1000:
            self.fps = float(fps)
        return cap

    def _init_queue(self, size: int) -> None:
        self._buf: deque = deque()  # frames (at most `size`, oldest dropped), gap markers, StopIteration
        self._buf_frames = size
        self._cv = threading.Condition()
        self._stop = threading.Event()

    def _put(self, item) -> None:
        buf = self._buf
        with self._cv:
            if item is None and buf and buf[-1] is None:
                return  # one gap marker per gap
            if isinstance(item, tuple) and self.queue_depth >= self._buf_frames:
                oldest = next(i for i, x in enumerate(buf) if isinstance(x, tuple))
                del buf[oldest]  # markers are never dropped, but two gaps with no frame between are one
                if 0 < oldest < len(buf) and buf[oldest - 1] is None and buf[oldest] is None:
                    del buf[oldest]
                self.dropped += 1
            buf.append(item)
            self._cv.notify()

    def _run(self) -> None:
        backoff = 0.5
        try:
            while not self._stop.is_set():
                ok, frame = self._cap.read() if self._cap is not None else (False, None)
                if self._stop.is_set():
                    break
                if ok and frame is not None:
                    self.frames_read += 1
                    self._put((time.monotonic(), frame))
                    backoff = 0.5
                    continue
                # Lost the source: mark the gap and report once, then reopen with capped exponential backoff.
                if self._cap is not None:
                    self._cap.release()
                    self._cap = None
                    log.warning("source %s stopped delivering frames; reconnecting", self.target)
                    self._put(None)  # gap marker: end what was running, windows must not span the outage
                    self.on_outage(True, "source lost")
                if self._stop.wait(backoff):
                    break
                backoff = min(backoff * 2, self.reconnect_max_s)
                self._cap = self._open()
                if self._cap is not None:
                    log.info("source %s is back", self.target)
                    self.on_outage(False, "source back")
        finally:
            if self._cap is not None:
                self._cap.release()
                self._cap = None
            self._put(StopIteration)

    def __iter__(self) -> Iterator[Frame | None]:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._buf)
                item = self._buf.popleft()
            if item is StopIteration:
                return
            yield item

    @property
    def queue_depth(self) -> int:
        """Frames waiting for the pipeline."""
        return sum(isinstance(x, tuple) for x in self._buf)

    def stop(self, timeout_s: float | None = None) -> bool:
        """Stop reading and wait (bounded) for the reader to leave ``cap.read()`` and release the capture.

        Returns False if the reader is still stuck after ``timeout_s`` (default:
        ``open_timeout_s`` plus a second, the longest a read can block).
        """
        self._stop.set()
        self._put(StopIteration)
        thread = getattr(self, "_thread", None)
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(self.open_timeout_s + 1.0 if timeout_s is None else timeout_s)
        if thread.is_alive():
            log.warning("source %s did not stop within %.0f s", self.target, self.open_timeout_s + 1.0)
            return False
        return True


class Picamera2Source(LiveSource):
    """The Pi camera module via picamera2's low-resolution ``lores`` stream."""

    def __init__(self, width: int = 320, height: int = 240, queue_size: int = 2, **_):
        try:
            from picamera2 import Picamera2  # Raspberry Pi OS: apt install python3-picamera2
        except ImportError as e:
            raise SourceError("picamera2 is not available: on Raspberry Pi OS run `sudo apt install "
                              "python3-picamera2` and create the venv with --system-site-packages") from e
        self.target = "picamera2"
        self._init_queue(queue_size)
        self.open_timeout_s = 2.0  # the longest stop() waits for a capture to return
        self.dropped = self.frames_read = 0
        self.fps = 30.0
        self.on_outage = lambda down, why: None
        try:
            self._cam = Picamera2()
            cfg = self._cam.create_video_configuration(
                main={"size": (max(640, width), max(480, height))},
                lores={"size": (width, height), "format": "YUV420"},
            )
            self._cam.configure(cfg)
            self._cam.start()
        except Exception as e:  # no camera attached, busy, or libcamera error
            raise SourceError(f"cannot start the Pi camera: {e}") from e
        self._lores_w = width
        self._thread = threading.Thread(target=self._run_picam, name="har-picamera2", daemon=True)
        self._thread.start()

    def _run_picam(self) -> None:
        while not self._stop.is_set():
            try:
                yuv = self._cam.capture_array("lores")
            except Exception as e:
                log.warning("picamera2 capture failed: %s", e)
                if self._stop.wait(1.0):
                    break
                continue
            # YUV420 rows carry a stride wider than the image: crop before converting.
            bgr = cv2.cvtColor(yuv, cv2.COLOR_YUV420p2BGR)[:, : self._lores_w]
            self.frames_read += 1
            self._put((time.monotonic(), bgr))
        self._cam.stop()
        self._put(StopIteration)


def open_source(camera: int | None = None, source: str | None = None, picamera2: bool = False,
                on_outage=None, width: int | None = None, height: int | None = None, realtime: bool = False,
                loop: bool = False, reconnect_max_s: float = 30.0, open_timeout_s: float = 10.0):
    """Pick the source from exactly one of ``camera``, ``source``, ``picamera2``.

    An http(s) ``source`` whose path ends in a video extension, or a YouTube
    page, is downloaded into the cache first and read as a file; any other
    URL (``rtsp://``, an MJPEG camera) is a live stream.
    """
    chosen = sum(x is not None and x is not False for x in (camera, source, picamera2 or None))
    if chosen != 1:
        raise SourceError("choose exactly one source: --camera N, --source FILE|URL or --picamera2")
    live = dict(on_outage=on_outage, reconnect_max_s=reconnect_max_s, open_timeout_s=open_timeout_s)
    if picamera2:
        return Picamera2Source(width or 320, height or 240)
    if camera is not None:
        return LiveSource(camera, width=width, height=height, **live)
    if "://" in source and not source.startswith("file://"):
        from har.edge.videourl import fetch_video, is_video_url

        if is_video_url(source):  # a video file (or YouTube page) on a web server: download, then play it
            return FileSource(fetch_video(source), realtime=realtime, loop=loop)
        return LiveSource(source, **live)
    return FileSource(source.removeprefix("file://"), realtime=realtime, loop=loop)
