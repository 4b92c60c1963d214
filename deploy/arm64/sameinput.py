"""The landmark models on identical inputs on both machines: kernels apart from tracking.

A tracked run feeds each frame's landmarks back into the next frame's crop,
so a difference in the last bits of one frame moves every later crop a
little, and the landmarks of a fast-moving hand can then differ by pixels.
That says little about the kernels. Here the crops are fixed:

* ``capture VIDEO OUT`` (x86): the frames and regions of interest the
  estimator used on every ``--every``-th sampled frame of the joined clips;
* ``apply INPUTS OUT`` (each machine): for each of those, the crop
  (OpenCV's ``warpAffine``) and the landmarks of the full and of the lite
  model (when cached) on that crop, with the same post-processing as the
  device (:meth:`har.edge.pose.landmarks.PoseLandmarker.run`);
* :func:`compare`: whether the crops are byte-identical and how far the
  landmarks are apart, in pixels of the frame.
"""

from __future__ import annotations

import numpy as np


def capture(video, out, every: int = 10) -> None:
    from har.edge.pose.assets import PoseModels, pose_models
    from har.edge.pose.estimator import PoseEstimator
    from har.edge.pose.landmarks import PoseLandmarker
    from har.edge.pose.lite import lite_landmarks
    from har.edge.preprocess import rgb_frame
    from har.edge.sampler import IntervalSampler
    from har.edge.sources import FileSource

    frames, rois, calls = [], [], [0]
    run = PoseLandmarker.run

    def tap(self, frame_rgb, roi):
        if calls[0] % every == 0:
            frames.append(frame_rgb.copy())
            rois.append((roi.center_x, roi.center_y, roi.size, roi.rotation))
        calls[0] += 1
        return run(self, frame_rgb, roi)

    PoseLandmarker.run = tap
    try:
        est = PoseEstimator(PoseModels(pose_models().detector, lite_landmarks()), threads=1)
        src = FileSource(video)
        sampler = IntervalSampler(0.1)
        sampler.set_frame_period(1.0 / src.fps)
        for ts, frame in src:
            if sampler.accept(ts):
                est.process(rgb_frame(frame))
    finally:
        PoseLandmarker.run = run
    np.savez_compressed(out, frames=np.stack(frames), rois=np.array(rois, np.float64))
    print(f"{len(frames)} frames and regions of interest kept of {calls[0]} landmark runs")


def apply(inputs, out, builtin: bool = False) -> None:
    """``builtin``: LiteRT's builtin kernels instead of XNNPACK (the yardstick on one machine)."""
    from record import _without_xnnpack

    restore = _without_xnnpack() if builtin else (lambda: None)
    try:
        _apply(inputs, out)
    finally:
        restore()


def _apply(inputs, out) -> None:
    from har.edge.pose.assets import PoseModelsError, pose_models
    from har.edge.pose.detector import Roi
    from har.edge.pose.landmarks import PoseLandmarker
    from har.edge.pose.lite import lite_landmarks

    z = np.load(inputs)
    models = {"full": pose_models().landmarks}
    try:
        models["lite"] = lite_landmarks()
    except PoseModelsError:
        pass
    result = {"crops": np.stack([PoseLandmarker._patch(f, Roi(*r)) for f, r in zip(z["frames"], z["rois"],
                                                                                  strict=True)])}
    for name, path in models.items():
        lm = PoseLandmarker(path, threads=1)
        xy = []
        for f, r in zip(z["frames"], z["rois"], strict=True):
            res = lm.run(f, Roi(*r))
            xy.append(res.landmarks[:, :2] * np.array([f.shape[1], f.shape[0]], np.float32))
        result[name] = np.stack(xy)
    np.savez_compressed(out, **result)
    print(f"{len(z['frames'])} crops, landmarks of the {' and '.join(models)} model")


def compare(a, b) -> dict:
    """Crops identical or not; per landmark model the largest and median landmark distance (px)."""
    x, y = np.load(a), np.load(b)
    crops = np.abs(x["crops"].astype(np.int16) - y["crops"].astype(np.int16))
    out = {"frames": int(len(x["crops"])), "crops_identical": bool(not crops.any()),
           "crop_bytes_differing": int((crops > 0).sum()), "crop_max_abs_diff": int(crops.max())}
    for name in ("full", "lite"):
        if name in x.files and name in y.files:
            d = np.linalg.norm(x[name] - y[name], axis=-1)
            out[name] = {"max_px": round(float(d.max()), 4), "median_px": round(float(np.median(d)), 4),
                         "p99_px": round(float(np.percentile(d, 99)), 4)}
    return out
