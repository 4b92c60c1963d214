"""Windows of a whole video file, cut exactly as the live pipeline cuts them.

A clip shorter than one window (a 2 s Weizmann clip at 25 fps gives 18
frames sampled 0.1 s apart, where the model reads 20) would get no answer at
all, so :func:`sliding_windows` can pad it to one window at the start, with
what the model sees when the clip starts later: for pixel models the first
frame repeated (a person standing still before the clip), for pose models
frames where nobody was found (NaN rows, filled by the features from the
nearest found frame, exactly like a window whose first frames missed the
person). The padding is counted, so every caller can say it was used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np

from har.edge.bundle import Bundle
from har.edge.preprocess import frame_preprocessor
from har.edge.sampler import IntervalSampler
from har.edge.sources import FileSource
from har.edge.window import Window

#: ``pad(items, seq_len)``: the ``(k, ...)`` items of a short clip (k < seq_len) -> a ``(seq_len, ...)`` window.
Pad = Callable[[np.ndarray, int], np.ndarray]


class Cut(NamedTuple):
    """One window of a file: the index of its last frame, the window, and how many items were padded in."""

    end: int
    window: np.ndarray
    padded: int = 0


def pad_repeat_first(items: np.ndarray, seq_len: int) -> np.ndarray:
    """Pixel windows (frames or their encoder features): the first item repeated at the start."""
    return np.concatenate([np.repeat(items[:1], seq_len - len(items), axis=0), items])


def pad_missing(items: np.ndarray, seq_len: int) -> np.ndarray:
    """Pose windows: NaN landmark rows at the start, as where the estimator found nobody."""
    return np.concatenate([np.full((seq_len - len(items), *items.shape[1:]), np.nan, items.dtype), items])


def padding_for(bundle: Bundle) -> Pad:
    """How a short clip of ``bundle``'s items is padded: missing poses for pose bundles, else the first frame."""
    return pad_missing if bundle.is_pose else pad_repeat_first


def padding_text(padded: int, seq_len: int, pose: bool) -> str:
    """What the answer of a padded clip says: ``"padded: ... 18 of 20 frames are from the clip, ..."``."""
    what = "frames without a pose" if pose else "copies of the first frame"
    return (f"padded: the clip is shorter than one window, so {seq_len - padded} of {seq_len} frames are from "
            f"the clip and {padded} {what} were added at the start")


def sliding_windows(frames: Iterable[np.ndarray], fps: float, interval_s: float | None, seq_len: int,
                    stride: int = 1, item: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                    pad: Pad | None = None) -> Iterator[Cut]:
    """A :class:`Cut` for each window the live pipeline would classify.

    Frames are taken at ``interval_s`` by their media time (``index / fps``);
    ``interval_s=None`` takes every frame. ``item`` (preprocessing, encoding)
    runs on taken frames only. With ``pad``, a clip too short for one window
    still gives one: its items padded by ``pad`` (see :func:`padding_for`).
    """
    sampler = IntervalSampler(interval_s) if interval_s else None
    if sampler is not None:
        sampler.set_frame_period(1.0 / fps)
    win = Window(seq_len, stride)
    short: list[np.ndarray] = []  # the items while there are fewer than one window, for padding
    last = -1
    for i, frame in enumerate(frames):
        if sampler is None or sampler.accept(i / fps):
            x = item(frame)
            win.push(x)
            last = i
            if not win.ready and pad is not None:
                short.append(x)
            if win.due:
                yield Cut(i, win.array())
    if pad is not None and short and not win.ready:
        yield Cut(last, pad(np.stack(short), seq_len), seq_len - len(short))


def cuts_of_file(path: str | Path, bundle: Bundle, item: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                 stride: int = 1, pad: bool = False) -> Iterator[Cut]:
    """Each window of a file (of ``item(frame)``), with ``pad`` a padded one for a clip shorter than a window."""
    src = FileSource(path)
    frames = (frame for _, frame in src)
    prepare = frame_preprocessor(bundle.encoder_kind, bundle.frame_size)
    yield from sliding_windows(frames, src.fps, bundle.interval_s or 0.1, bundle.seq_len, stride,
                               lambda f: item(prepare(f)), padding_for(bundle) if pad else None)


def windows_of_file(path: str | Path, bundle: Bundle, item: Callable[[np.ndarray], np.ndarray] = lambda x: x,
                    stride: int = 1) -> Iterator[np.ndarray]:
    """Yield each full window (of ``item(frame)``: frames, encoder features or pose keypoints)."""
    for cut in cuts_of_file(path, bundle, item, stride):
        yield cut.window
