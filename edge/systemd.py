"""Talk to systemd when it runs us: readiness, the watchdog, and log lines journald can timestamp itself.

Why: with ``Type=notify`` and ``WatchdogSec`` systemd restarts a pipeline that
is stuck (a camera driver that blocks forever, a wedged interpreter), which a
process that is merely alive would hide. The protocol is one datagram on
``$NOTIFY_SOCKET`` (sd_notify(3)), so no library is needed. Outside systemd
every function here does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time

log = logging.getLogger(__name__)

#: Before the first frame (camera warm-up, model load) the pipeline may stay silent this long.
STARTUP_GRACE_S = 60.0


def notify(message: str) -> bool:
    """Send ``message`` (e.g. ``READY=1``) to systemd; False when not run by systemd or it failed."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):  # abstract namespace
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(addr)
            s.send(message.encode(), socket.MSG_DONTWAIT)  # never block the pipeline on a busy manager
        return True
    except OSError as e:
        log.debug("sd_notify %s failed: %s", message, e)
        return False


def watchdog_interval_s() -> float | None:
    """Half of ``WatchdogSec`` when systemd asks this process for keep-alives, else None."""
    usec, pid = os.environ.get("WATCHDOG_USEC"), os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.1, int(usec) / 2e6)
    except ValueError:
        return None


def under_journald() -> bool:
    """True when stderr is connected to the journal (``$JOURNAL_STREAM`` names stderr's device:inode)."""
    stream = os.environ.get("JOURNAL_STREAM")
    if not stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


class Watchdog:
    """Sends ``WATCHDOG=1`` while the pipeline makes progress: new frames, or a source outage being retried.

    A pipeline that reads no frame for a whole interval while its source is
    not known to be down stops being fed, and systemd restarts the service.
    """

    def __init__(self, metrics, interval_s: float | None = None):
        self.metrics = metrics
        self.interval_s = watchdog_interval_s() if interval_s is None else interval_s
        self.source_down = False  # set by the source's outage hook
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Watchdog:
        notify("READY=1")
        if self.interval_s:
            self._thread = threading.Thread(target=self._run, name="har-watchdog", daemon=True)
            self._thread.start()
        return self

    def alive(self, last_frames: int, started: float) -> bool:
        frames = self.metrics.frames + self.metrics.outages
        if frames != last_frames or self.source_down:
            return True
        return frames == 0 and time.monotonic() - started < STARTUP_GRACE_S

    def _run(self) -> None:
        started, last = time.monotonic(), -1
        while not self._stop.wait(self.interval_s):
            if self.alive(last, started):
                notify("WATCHDOG=1")
            else:
                log.warning("no frame for %.0f s and the source is not reported down: not feeding the watchdog",
                            self.interval_s)
            last = self.metrics.frames + self.metrics.outages

    def stop(self) -> None:
        """STOPPING=1 as the last word: the feeding thread is stopped first, so no WATCHDOG=1 follows it."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        notify("STOPPING=1")
