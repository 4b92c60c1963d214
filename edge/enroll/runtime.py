"""Enrolled labels in the live pipeline: the base classifier plus the user's labels, reloaded while running.

:class:`EnrolledClassifier` wraps :class:`har.edge.pipeline.Classifier`:
the base head answers first; when an enrolment file exists, the window's
embedding (the head's second output from the same invocation; an older
bundle's ``embed.tflite`` on the features the head just read: nothing is
computed again from video) is matched against the enrolled
labels (:mod:`har.edge.enroll.prototypes`) and the probability vector grows
by the new labels. Everything downstream (smoother, events, sinks) sees one
longer label list.

Reloading: the file is looked at (one ``stat``) at most once a second, and
at once after :meth:`request_reload` (SIGHUP). A changed file is read and
checked in full; a bad one is logged and the labels in use stay, so a
half-copied file never stops a running device. When the label list changes,
:meth:`refresh` says so and the pipeline starts a new smoother and tells
the sinks (MQTT adds and removes Home Assistant entities).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from har.edge.bundle import Bundle
from har.edge.enroll import store
from har.edge.enroll.prototypes import Match, PrototypeClassifier, combine
from har.edge.enroll.references import bundle_references
from har.edge.errors import HarError

log = logging.getLogger(__name__)
CHECK_INTERVAL_S = 1.0


def labels_with(base_labels: list[str], enrolled: list[str]) -> list[str]:
    """Base labels, then enrolled labels that are not base labels, in enrolment order."""
    return list(base_labels) + [x for x in enrolled if x not in base_labels]


def fit(bundle: Bundle, enrolment: store.Enrolment) -> PrototypeClassifier:
    refs, one_shot = bundle_references(bundle.metadata, enrolment.dim)
    return PrototypeClassifier(enrolment.examples(), refs, one_shot)


class EnrolledClassifier:
    """A :class:`~har.edge.pipeline.Classifier` that also knows the labels of an enrolment file."""

    def __init__(self, base, bundle: Bundle, path: Path | None = None):
        self.base = base
        self.bundle = bundle
        self.path = Path(path) if path else store.default_path(bundle)
        self.labels = list(bundle.labels)
        self.model: PrototypeClassifier | None = None
        self.last_match = Match(-1, 0.0, 0.0)
        self._embed = None
        self._stamp = None
        self._next_check = 0.0
        self._requested = False
        self._load(first=True)

    # -- what the pipeline uses of a Classifier ------------------------------------------------------
    pose = property(lambda self: self.base.pose)
    streaming = property(lambda self: self.base.streaming)
    last_pose = property(lambda self: self.base.last_pose)

    def reset(self) -> None:
        self.base.reset()

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        return self.base.item(frame_u8)

    def enough_poses(self, window: np.ndarray) -> bool:
        return self.base.enough_poses(window)

    def classify(self, window: np.ndarray) -> np.ndarray:
        """Base probabilities, extended by the enrolled labels (see the module docstring)."""
        probs = self.base.classify(window)
        if self.model is None or not self.model.labels:
            return probs
        if not self.base.enough_poses(window):
            return np.full(len(self.labels), 1.0 / len(self.labels), np.float32)
        self.last_match = self.model.match(self._embed())
        return combine(probs, self.bundle.labels, self.labels, self.last_match, self.model.labels)

    # -- reloading ------------------------------------------------------------------------------------
    def request_reload(self) -> None:
        """Look at the file at the next window (safe from a signal handler)."""
        self._requested = True

    def refresh(self) -> bool:
        """Reload a changed file; True when the label list changed (the pipeline then resets its smoother)."""
        now = time.monotonic()
        if not self._requested and now < self._next_check:
            return False
        self._next_check, self._requested = now + CHECK_INTERVAL_S, False
        before = list(self.labels)
        self._load(first=False)
        return self.labels != before

    def _file_stamp(self):
        try:
            st = self.path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _load(self, first: bool) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        if stamp is None:
            if self.model is not None:
                log.info("enrolment file %s is gone: back to the bundle's %d labels", self.path,
                         len(self.bundle.labels))
            self.model, self.labels = None, list(self.bundle.labels)
            return
        try:
            enrolment = store.read(self.path, self.bundle)
            if self._embed is None:
                self._embed = self._embedding_model()
            model = fit(self.bundle, enrolment)
        except HarError as e:
            if first:
                raise
            log.warning("enrolment not reloaded, keeping the labels in use: %s", e)
            return
        self.model, self.labels = model, labels_with(self.bundle.labels, model.labels)
        log.info("enrolled labels from %s: %s", self.path, ", ".join(model.labels) or "none")

    def _embedding_model(self):
        from har.edge.enroll.embedding import window_embedder

        if not self.base.streaming:
            raise store.EnrolmentError("enrolled labels need the streaming encoder/head (leave --streaming "
                                       "off out)")
        return window_embedder(self.bundle, self.base)


def with_enrolment(base, bundle: Bundle, path: Path | None = None):
    """``base`` wrapped to know enrolled labels when the bundle can embed windows, else ``base`` itself."""
    if bundle.embedding_dim is None:
        p = Path(path) if path else store.default_path(bundle)
        if p.exists():
            log.warning("%s is ignored: bundle %s has no embedding output; re-export it", p, bundle.path)
        return base
    return EnrolledClassifier(base, bundle, path)
