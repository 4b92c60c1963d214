"""Classify a video with a trained Keras model (the seed's step 6).

One answer for the whole video (the mean of every window's probabilities,
or the seed's single uniform clip when the model was trained that way), and
optionally an annotated copy with the sliding-window label on each frame.
Windows are cut by the edge's own sampler and ring buffer, so the workstation
and the device see identical inputs; a clip shorter than one window is padded
by the same function as on the device (the first frame repeated at the start),
and :attr:`Prediction.padded` says by how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from har.edge.predict import pad_repeat_first, sliding_windows
from har.edge.preprocess import normalize
from har.models.clips import Sampling, VideoError, clip_indices, read_frames
from har.models.folder import ModelFolderError, read_model_folder
from har.models.registry import InputSpec


@dataclass
class Prediction:
    label: str
    confidence: float
    probabilities: dict[str, float]
    window_ends: list[int]  # frame index at which each window ends
    window_probs: np.ndarray  # (n_windows, n_classes)
    padded: int = 0  # frames added at the start of a clip shorter than one window (the first frame repeated)


def load_model_dir(model_dir: Path):
    """``(keras_model, folder)`` of a pixel model folder (:func:`har.models.folder.read_model_folder`)."""
    folder = read_model_folder(model_dir)
    if folder.is_pose:
        raise ModelFolderError(f"{model_dir} is a pose model, which reads keypoints, not frames; export it with "
                               f"`har export --model {model_dir} --out BUNDLE` and use "
                               "`har-edge predict VIDEO --bundle BUNDLE`")
    from har.models.keras_layers import load_model

    folder.sampling  # noqa: B018 -- a bad sampling record fails here, before Keras loads the model
    return load_model(folder.path / "model.keras"), folder


def predict_video(model, labels: list[str], s: Sampling, video: Path, norm: str = InputSpec.normalization,
                  batch: int = 32) -> Prediction:
    frames, fps = read_frames(Path(video), s.size)
    ends, windows, padded = [], [], 0
    interval = None if s.mode == "uniform" else s.interval_s
    for cut in sliding_windows(frames, fps, interval, s.seq_len, pad=pad_repeat_first if interval else None):
        ends.append(cut.end)
        windows.append(cut.window)
        padded = cut.padded
    if s.mode == "uniform":
        idx = clip_indices(len(frames), fps, s)
        if not idx:
            raise VideoError(f"{video}: too short ({len(frames)} frames) for {s.seq_len} frames")
        overall = model.predict(normalize(frames[idx[0]][None], norm), verbose=0)[0]
    if not windows and s.mode != "uniform":
        raise VideoError(f"{video}: too short for one window ({len(frames)} frames at {fps:g} fps; "
                         f"needs {s.span_s:.1f}s)")
    probs = (np.concatenate([model.predict(normalize(np.stack(windows[i:i + batch]), norm), verbose=0)
                             for i in range(0, len(windows), batch)])
             if windows else np.zeros((0, len(labels))))
    if s.mode != "uniform":
        overall = probs.mean(0)
    k = int(np.argmax(overall))
    return Prediction(labels[k], float(overall[k]), dict(zip(labels, map(float, overall), strict=False)), ends, probs,
                      padded)


def write_annotated(video: Path, out: Path, pred: Prediction, labels: list[str]) -> int:
    """Copy ``video`` to ``out`` with each frame's latest window label drawn on it."""
    import cv2

    from har.edge.capture import open_video
    from har.edge.sinks.video import VideoSink

    cap = open_video(video)
    fps = cap.get(cv2.CAP_PROP_FPS) or 25.0
    sink = VideoSink(out, fps)
    j, n = -1, 0
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            while j + 1 < len(pred.window_ends) and pred.window_ends[j + 1] <= n:
                j += 1
            if j >= 0:
                p = pred.window_probs[j]
                sink.write(frame, labels[int(p.argmax())], float(p.max()), None)
            else:
                sink.write(frame, "...", 0.0, None)
            n += 1
    finally:
        cap.release()
        sink.stop()
    return n
