"""The sink interface: where events go after the smoother.

Why an abstract base this small: the pipeline should not care whether events
are printed, appended to a file or sent to a broker, and a new destination
should need nothing more than ``publish`` and ``stop``.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterable

from har.edge.events import Event

log = logging.getLogger(__name__)


class Sink(ABC):
    """Receives every event. ``publish`` must return quickly: it runs in the detection loop."""

    @abstractmethod
    def publish(self, event: Event) -> None:
        """Deliver (or durably queue) one event."""

    @abstractmethod
    def stop(self) -> None:
        """Flush and close. Called once at shutdown."""

    def availability(self, online: bool, reason: str | None = None) -> None:  # noqa: B027 - optional hook
        """The pipeline went online/offline (e.g. camera lost). Default: ignore."""

    def labels_changed(self, labels: list[str]) -> None:  # noqa: B027 - optional hook
        """The action labels changed while running (an enrolment file was reloaded); most sinks need nothing."""

    def snapshot(self, event: Event, frame) -> None:  # noqa: B027 - optional hook
        """``event`` (action_started) was decided on ``frame`` (BGR). Default: ignore."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class MultiSink(Sink):
    """Fan-out to several sinks, isolating failures.

    Why: a full disk must not stop MQTT alerts, and a broken broker must not
    stop the local log. A failing sink is logged (with traceback the first time,
    briefly after that, so a permanently broken sink does not flood the log)
    and the others still get the event.
    """

    def __init__(self, sinks: Iterable[Sink]):
        self.sinks: list[Sink] = list(sinks)
        self.failures: dict[int, int] = {}  # id(sink) -> consecutive failures

    def publish(self, event: Event) -> None:
        for sink in self.sinks:
            self._call(sink, "publish", event)

    def availability(self, online: bool, reason: str | None = None) -> None:
        for sink in self.sinks:
            self._call(sink, "availability", online, reason)

    def labels_changed(self, labels: list[str]) -> None:
        for sink in self.sinks:
            self._call(sink, "labels_changed", labels)

    def snapshot(self, event: Event, frame) -> None:
        for sink in self.sinks:
            self._call(sink, "snapshot", event, frame)

    def stop(self) -> None:
        for sink in self.sinks:
            self._call(sink, "stop")

    def _call(self, sink: Sink, method: str, *args) -> None:
        key = id(sink)
        try:
            getattr(sink, method)(*args)
        except Exception as exc:
            n = self.failures.get(key, 0) + 1
            self.failures[key] = n
            name = type(sink).__name__
            if n == 1:
                log.exception("%s.%s failed; the other sinks still get events", name, method)
            else:
                log.warning("%s.%s failed again (%d in a row): %s", name, method, n, exc)
        else:
            if self.failures.pop(key, 0):
                log.info("%s recovered", type(sink).__name__)
