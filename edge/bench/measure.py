"""Every variant in one process, side by side: predictions on test clips, latency, pipeline throughput."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.edge.bench.environment import environment
from har.edge.bench.pipeline import STEADY_WINDOWS, decode_pass, median_pass, pipeline_pass
from har.edge.bench.plan import Variant, one_line
from har.edge.bench.timing import time_interleaved
from har.edge.bundle import MODEL_FILES, POSE_CACHE_FILES, POSE_MODELS, load_bundle
from har.edge.interpreter import TfliteModel, backend_name
from har.edge.pipeline import Classifier
from har.edge.predict import windows_of_file

log = logging.getLogger(__name__)


class _Loaded:
    """A variant's classifier at one thread count, with the calls that are timed."""

    def __init__(self, variant: Variant, threads: int, clip: np.ndarray):
        self.bundle = load_bundle(variant.bundle)
        self.clf = Classifier(self.bundle, threads, None, "on" if variant.mode == "streaming" else "off")
        self.clip = clip
        if self.clf.streaming:
            self.features = np.stack([self.clf.item(f) for f in clip])

    def classify(self, clip: np.ndarray) -> np.ndarray:
        """Classify ``clip`` from scratch (streaming: encode all its frames, then the head)."""
        if self.clf.streaming:
            return self.clf.classify(np.stack([self.clf.item(f) for f in clip]))
        return self.clf.classify(clip)

    def window(self) -> np.ndarray:
        return self.classify(self.clip)

    def new_frame(self) -> np.ndarray:
        """One more sampled frame at stride 1: encoder on it + head on cached features (streaming only)."""
        self.clf.item(self.clip[-1])
        return self.clf.classify(self.features)

    def head_only(self) -> np.ndarray:
        """The head on cached features (keypoints -> features -> head, for a pose bundle)."""
        return self.clf.classify(self.features)


def _files(variant: Variant) -> list[Path]:
    bundle = load_bundle(variant.bundle)
    if bundle.is_pose:
        names = POSE_MODELS
    else:
        names = ("encoder", "head") if variant.mode == "streaming" else ("window",)
    return [bundle.model_file(n) for n in names]


def cpu_ops(files: list[Path], threads: int) -> list[str]:
    """Ops the default delegate (XNNPACK) did not take: they run on the runtime's built-in kernels.

    This is what explains most speed differences between runtimes and
    between quantization modes of the same model. The pose models (several
    outputs, run by ``har.edge.pose``) are left out.
    """
    pose_files = {MODEL_FILES[n] for n in POSE_MODELS[1:]} | set(POSE_CACHE_FILES.values())  # in the bundle or cache
    return sorted({op for p in files if p.name not in pose_files for op in TfliteModel(p, threads).undelegated_ops()})


def pose_counters(clf) -> dict | None:
    """Per-run cost of the two pose models and how often the detector ran, from the estimator's counters."""
    if not getattr(clf, "pose", False):
        return None
    est = clf._impl.estimator
    return {"frames": est.frames, "detector_runs": est.detector_runs, "landmark_runs": est.landmark_runs,
            "detector_rate": round(est.detector_runs / max(est.frames, 1), 4),
            "detector_ms": round(1e3 * est.detector_s / max(est.detector_runs, 1), 3),
            "landmarks_ms": round(1e3 * est.landmarks_s / max(est.landmark_runs, 1), 3)}


def measure(variants: list[Variant], threads: tuple[int, ...], video: str | Path, rounds: int = 7,
            per_round: int = 8, warmup: int = 3, passes: int = 2) -> dict:
    """Predictions on test clips, latency and pipeline throughput of every variant, side by side, in this process.

    A variant this runtime cannot load (say, an op version it predates) gets
    an ``error`` entry instead of numbers; the others are still measured.
    """
    results: dict[str, dict] = {}
    loaded: dict[tuple[str, int], _Loaded] = {}
    for v in variants:
        results[v.name] = {"mode": v.mode, "files": None, "bytes": None, "error": None}
        try:  # loading the bundle reads every model with this runtime: the first place it can refuse one
            files = _files(v)
            results[v.name].update(files=[p.name for p in files], bytes=sum(p.stat().st_size for p in files))
            clip = next(windows_of_file(video, load_bundle(v.bundle)))
            for t in threads:
                loaded[v.name, t] = _Loaded(v, t, clip)
        except Exception as e:  # a runtime refusing a model is a result, not a crash
            log.warning("%s cannot run on %s: %s", v.name, backend_name(), e)
            results[v.name]["error"] = one_line(e)
            continue
        results[v.name]["cpu_ops"] = cpu_ops(files, threads[0])
        if v.test_clips:
            with np.load(v.test_clips) as z:
                clips = z["clips"]
            results[v.name]["probs"] = [loaded[v.name, threads[0]].classify(c).tolist() for c in clips]
    runners: dict[str, Callable[[], object]] = {}
    for (name, t), lv in loaded.items():
        runners[f"{name}|{t}|window"] = lv.window
        if lv.clf.streaming:
            runners[f"{name}|{t}|frame"] = lv.new_frame
        if getattr(lv.clf, "pose", False):
            runners[f"{name}|{t}|head"] = lv.head_only
    log.info("timing %d runners x %d rounds x %d calls", len(runners), rounds, per_round)
    ms = time_interleaved(runners, rounds, per_round, warmup)
    fps: dict[tuple[str, int], list[dict]] = {k: [] for k in loaded}
    decode: list[float] = []
    for _ in range(passes):
        decode.append(decode_pass(video))
        for (name, t), lv in loaded.items():
            fps[name, t].append(pipeline_pass(lv.bundle, lv.clf, video))
    for v in variants:
        r = results[v.name]
        if r["error"]:
            continue
        r["latency_window_ms"] = {str(t): ms[f"{v.name}|{t}|window"] for t in threads}
        r["latency_frame_ms"] = {str(t): ms[f"{v.name}|{t}|{'frame' if v.mode == 'streaming' else 'window'}"]
                                 for t in threads}
        r["throughput"] = {str(t): median_pass(fps[v.name, t]) for t in threads}
        first = loaded[v.name, threads[0]]
        if getattr(first.clf, "pose", False):
            r["pose"] = {**pose_counters(first.clf), "head_ms": ms[f"{v.name}|{threads[0]}|head"]}
    return {"environment": environment(), "decode_fps": float(np.median(decode)) if decode else None,
            "method": {"rounds": rounds, "per_round": per_round, "warmup": warmup, "passes": passes,
                       "steady_windows": STEADY_WINDOWS, "video": str(video)},
            "variants": results}
