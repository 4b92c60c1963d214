"""Recordings -> examples: the bundle's own encoder and embedding model on a clip, a time range or a camera.

A recording is sampled exactly like the live pipeline samples (the bundle's
interval, the same preprocessing and encoder), cut into windows
:data:`STRIDE` items apart, and each window with enough of a person
(pose bundles) is embedded; the example is the normalised mean of those
unit embeddings. A recording shorter than one window is padded at the start
like ``har-edge predict`` pads a short clip (har.edge.predict).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from har.edge.bundle import Bundle
from har.edge.enroll.references import unit
from har.edge.enroll.store import EnrolmentError, Example
from har.edge.evaluate import VIDEO_EXTS
from har.edge.predict import padding_for
from har.edge.preprocess import frame_preprocessor
from har.edge.sampler import IntervalSampler

#: Items between the windows of one recording (a quarter of a 20-item window).
STRIDE = 5


class Recorder:
    """Embeds recordings with ``bundle``; ``seconds_encoding`` adds up the encoder time spent."""

    def __init__(self, bundle: Bundle, threads: int = 1):
        from har.edge.enroll.embedding import window_embedder
        from har.edge.pipeline import Classifier

        if bundle.embedding_dim is None:
            raise EnrolmentError(f"bundle {bundle.path} has no embedding output, so it cannot learn new labels; "
                                 "re-export it with this version of har")
        self.bundle = bundle
        self.clf = Classifier(bundle, threads, None, "on" if not bundle.is_pose else "auto")
        self.embedding = window_embedder(bundle, self.clf)
        self.prepare = frame_preprocessor(bundle.encoder_kind, bundle.frame_size)
        self.seconds_encoding = 0.0

    def item(self, frame: np.ndarray) -> np.ndarray:
        t0 = time.perf_counter()
        x = self.clf.item(self.prepare(frame))
        self.seconds_encoding += time.perf_counter() - t0
        return x

    def window_embedding(self, window: np.ndarray) -> np.ndarray | None:
        """Unit embedding of one window, None when too few of its frames have a person."""
        if not self.clf.enough_poses(window):
            return None
        self.clf.classify(window)  # the head's run gives the embedding (or the features embed.tflite reads)
        return unit(self.embedding())

    def example(self, items: list[np.ndarray], source: str, start: float | None = None,
                end: float | None = None) -> Example:
        """One example from a recording's encoded items."""
        n = self.bundle.seq_len
        if not items:
            raise EnrolmentError(f"{source} gave no frames to learn from")
        arr = np.stack(items)
        if len(arr) < n:
            windows = [padding_for(self.bundle)(arr, n)]
        else:
            windows = [arr[a:a + n] for a in range(0, len(arr) - n + 1, STRIDE)]
        embs = [e for e in (self.window_embedding(w) for w in windows) if e is not None]
        if not embs:
            raise EnrolmentError(f"no person was found in enough frames of {source} to learn from it; record "
                                 "again with the whole body in view")
        return Example(unit(np.mean(embs, axis=0)), source, start, end, len(embs))

    def from_file(self, path: str | Path, start: float | None = None, end: float | None = None) -> Example:
        """One example from ``path`` between ``start`` and ``end`` seconds of media time (default: all of it)."""
        from har.edge.sources import FileSource

        if start is not None and end is not None and end <= start:
            raise EnrolmentError(f"--end {end:g} must come after --start {start:g} for {path}")
        src = FileSource(path)
        self.clf.reset()
        sampler = IntervalSampler(self.bundle.interval_s or 0.1)
        sampler.set_frame_period(1.0 / src.fps)
        items, t0, last = [], start or 0.0, 0.0
        try:
            for i, (_, frame) in enumerate(src):
                t = i / src.fps
                last = t
                if t < t0:
                    continue
                if end is not None and t > end:
                    break
                if sampler.accept(t - t0):
                    items.append(self.item(frame))
        finally:
            src.stop()
        if not items and start:
            raise EnrolmentError(f"{path} is only {last:.1f} s long, so --start {start:g} is past its end")
        return self.example(items, str(path), start, end)

    def from_live(self, source, seconds: float, countdown_s: float, label: str,
                  tick: Callable[[str], None], frame_out: Callable[[np.ndarray, str], None] | None = None) -> Example:
        """One example from a live ``source``: ``countdown_s`` seconds of countdown, then ``seconds`` recorded."""
        sampler = IntervalSampler(self.bundle.interval_s or 0.1)
        sampler.set_frame_period(1.0 / getattr(source, "fps", 30.0))
        self.clf.reset()
        items: list[np.ndarray] = []
        t_start = time.monotonic()
        said = None
        for item in source:
            now = time.monotonic() - t_start
            if item is None:
                continue
            _, frame = item
            if now < countdown_s:
                left = int(np.ceil(countdown_s - now))
                text = f"{label}: get ready {left}"
                if left != said:
                    tick(text)
                    said = left
            else:
                rec = now - countdown_s
                if rec > seconds:
                    break
                text = f"{label}: recording {rec:.1f}/{seconds:g} s"
                if said != "rec":
                    tick(f"{label}: recording for {seconds:g} s")
                    said = "rec"
                if sampler.accept(rec):
                    items.append(self.item(frame))
            if frame_out is not None:
                frame_out(frame, text)
        return self.example(items, f"camera {getattr(source, 'target', '')}".strip(), None, None)


def folder_clips(folder: str | Path) -> list[Path]:
    """The video files in ``folder`` (not recursive), sorted; each is one recording."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EnrolmentError(f"--folder {folder} is not a folder")
    clips = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_EXTS)
    if not clips:
        raise EnrolmentError(f"--folder {folder} holds no video files ({' '.join(VIDEO_EXTS)})")
    return clips


def ranges(sources: list[str], starts: Iterable[float] | None, ends: Iterable[float] | None
           ) -> list[tuple[str, float | None, float | None]]:
    """Pair each ``--source`` with its ``--start``/``--end``: none given, or one of each per source."""
    starts, ends = list(starts or []), list(ends or [])
    for name, values in (("--start", starts), ("--end", ends)):
        if values and len(values) != len(sources):
            raise EnrolmentError(f"give {name} once per --source ({len(sources)}) or not at all, not "
                                 f"{len(values)} times")
        if any(v < 0 or not np.isfinite(v) for v in values):
            raise EnrolmentError(f"{name} takes seconds from the start of the clip, 0 or more")
    return [(s, starts[i] if starts else None, ends[i] if ends else None) for i, s in enumerate(sources)]
