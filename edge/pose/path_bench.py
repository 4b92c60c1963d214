"""The pose path's cost against its accuracy, every variant side by side in one run (``har bench --pose-path``).

Why one run: a shared machine's slow moments must hit every variant alike,
so each real clip is decoded and sampled once, and the variants take turns
on it, clip by clip and round by round. What is measured per variant:

* **cost**: wall and CPU (``time.process_time``, all threads of the process)
  milliseconds per *sampled* frame for the pose work (detector, landmark
  model, the skip bookkeeping) on the real clips, plus the head once: a
  stream classifies a window at every sampled frame (stride 1), so the
  head's mean cost per window (features, filling, the head model) is added
  once per sampled frame, whatever number of windows the short clips give;
  the share of sampled frames that ran the landmark model and the detector;
* **accuracy on real clips**: :func:`har.edge.evaluate.evaluate` (what
  ``har-edge eval`` reports) over the windows this variant produced;
* **accuracy on generated people**: :func:`har.train.motion.score.score_bundle`
  with the variant's ``landmark_every`` (generated people are keypoints, not
  pixels: variants that decide on pixels, the still skip and the detector on
  every frame, have no figure there, and a variant that only changes the
  landmark model, the lite one, has the head's figure at its ``k``);
* **jitter of steady points**: frame-to-frame movement of the face
  landmarks relative to the shoulders, in torso lengths (median), on the
  variants that compute every frame: how the generator's estimator model
  was calibrated (:mod:`har.train.motion.noise`). A variant with another
  landmark model is scored on generated people seen through that model's
  noise: the estimator model scaled by its jitter over the reference's
  (``motion_noise_scale``, never below 1);
* **agreement with the reference** (the bundle's own landmark model, whole
  graph, every frame): median pixel distance of the body landmarks on frames
  where both found the person, and the share of frames where exactly one of
  them did (``landmark_px_median``, ``found_disagreement``), so that a
  cheaper landmark model shows what it changes where the generated people
  cannot.

Rows use ``har bench``'s fields (``har.edge.bench.ROW_FIELDS``) with the
pose path's details in ``pose``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.edge.bench import ROW_FIELDS, cpu_name
from har.edge.bundle import load_bundle
from har.edge.pose.modes import ModalEstimator, PoseMode, every

#: The variant the others are compared with: the bundle's landmark model, whole graph, every frame.
REFERENCE = "every frame, whole landmark graph"


@dataclass(frozen=True)
class PathVariant:
    name: str
    bundle: str
    mode: PoseMode = field(default_factory=PoseMode)
    threads: int = 1
    landmarks: str | None = None
    """Another BlazePose landmark model file instead of the bundle's (e.g. ``pose_landmark_lite.tflite``)."""
    prune: bool = True
    """Run the landmark graph without its unused outputs (:mod:`har.edge.pose.prune`)."""


def default_variants(bundle: str | Path, extra_bundles: dict[str, str | Path] | None = None,
                     lite: str | Path | None = None) -> list[PathVariant]:
    """Threads, skip modes, the still skip, no tracking and the whole graph for ``bundle``; ``lite`` as landmark
    model at every k; every mode of ``extra_bundles`` too."""
    b = str(bundle)
    out = [PathVariant(REFERENCE, b, PoseMode(1), prune=False),
           PathVariant("every 2nd frame, whole landmark graph", b, PoseMode(2), prune=False),
           PathVariant("every frame, 2 threads", b, PoseMode(1), 2),
           PathVariant("every frame, detector every frame", b, PoseMode(1, detect_every_frame=True))]
    for k in (1, 2, 3):
        out.append(PathVariant(every(k), b, PoseMode(k)))
        out.append(PathVariant(f"{every(k)}, still skip", b, PoseMode(k, still_threshold=2.0)))
    if lite is not None:
        for k in (1, 2, 3):
            out.append(PathVariant(f"lite landmarks, {every(k)}", b, PoseMode(k), landmarks=str(lite)))
        out.append(PathVariant("lite landmarks, every frame, whole graph", b, PoseMode(1), landmarks=str(lite),
                               prune=False))
    for label, path in (extra_bundles or {}).items():
        for k in (1, 2, 3):
            out.append(PathVariant(f"{label}, {every(k)}", str(path), PoseMode(k)))
    return out


def sampled_clips(root: Path, interval_s: float) -> dict[Path, list[np.ndarray]]:
    """RGB frames the device's sampler keeps from every labelled clip under ``root`` (decoded once)."""
    from har.edge.evaluate import list_labelled
    from har.edge.preprocess import rgb_frame
    from har.edge.sampler import IntervalSampler
    from har.edge.sources import FileSource

    out = {}
    for path, _ in list_labelled(root):
        src = FileSource(path)
        sampler = IntervalSampler(interval_s)
        sampler.set_frame_period(1.0 / src.fps)
        out[path] = [rgb_frame(f) for ts, f in src if sampler.accept(ts)]
    return out


def _windows(rows: np.ndarray, seq_len: int) -> list[np.ndarray]:
    """Stride-1 windows of a clip's rows; a clip shorter than one window gives one padded at its start."""
    from har.edge.predict import pad_missing

    if len(rows) < seq_len:
        return [pad_missing(rows, seq_len)] if len(rows) else []
    return [rows[i - seq_len:i] for i in range(seq_len, len(rows) + 1)]


def measure(variants: list[PathVariant], root: Path, rounds: int = 2, motion_actors: int = 24,
            log=print, motion_accuracy: Callable[[object, int, int, float], float] | None = None,
            references: dict[str, str | Path] | None = None) -> dict:
    """Run every variant over the real clips under ``root``, interleaved; score each on both test sets.

    ``references``: name -> stream model (:mod:`har.edge.bench.reference`), timed on the same sampled frames
    in the same rounds; their rows have a cost and no accuracy.

    ``motion_accuracy(bundle, landmark_every, actors, noise)`` scores a bundle on generated people (``noise``
    scales the landmark noise to another landmark model's measured jitter); the generator is
    workstation code (``har.train.motion``), so the caller hands it in, and without it that column stays empty.
    """
    from har.edge.bench.reference import StreamReference, reference_row
    from har.edge.evaluate import evaluate
    from har.edge.interpreter import PoseClassifier
    from har.edge.pose.assets import PoseModels
    from har.edge.pose.estimator import PoseEstimator

    bundles = {v.bundle: load_bundle(v.bundle) for v in variants}
    clips_by_interval = {}
    for b in bundles.values():
        if b.interval_s not in clips_by_interval:
            clips_by_interval[b.interval_s] = sampled_clips(root, b.interval_s)
    classifiers = {(v.bundle, v.threads): PoseClassifier(bundles[v.bundle], threads=v.threads, landmarks="full")
                   for v in variants}  # for the head; each variant runs its own estimator
    estimators = {}
    for v in variants:
        key = (v.bundle, v.threads, v.landmarks, v.prune)
        if key not in estimators:
            b = bundles[v.bundle]
            models = PoseModels(b.model_file("pose_detector"), Path(v.landmarks or b.model_file("pose_landmarks")))
            estimators[key] = PoseEstimator(models, threads=v.threads, prune=v.prune)
    stats = {v.name: {"wall": 0.0, "cpu": 0.0, "frames": 0, "landmark_runs": 0, "detector_runs": 0, "head": 0.0,
                      "head_cpu": 0.0, "windows": 0} for v in variants}
    rows: dict[str, dict[Path, np.ndarray]] = {v.name: {} for v in variants}
    refs = {name: StreamReference(path) for name, path in (references or {}).items()}
    ref_cpu = dict.fromkeys(refs, 0.0)
    ref_frames = dict.fromkeys(refs, 0)
    for r in range(rounds):
        for path in next(iter(clips_by_interval.values())):
            for v in variants:
                b, clf = bundles[v.bundle], classifiers[(v.bundle, v.threads)]
                frames = clips_by_interval[b.interval_s][path]
                est = estimators[(v.bundle, v.threads, v.landmarks, v.prune)]
                modal = ModalEstimator(est, v.mode)
                modal.reset()
                lm0, det0 = est.landmark_runs, est.detector_runs
                c0, w0 = time.process_time(), time.perf_counter()
                out = np.stack([modal.step(f) for f in frames]) if frames else np.zeros((0, 33, 5), np.float32)
                w1, c1 = time.perf_counter(), time.process_time()
                windows = _windows(out, b.seq_len)
                h0, hc0 = time.perf_counter(), time.process_time()
                for w in windows:
                    clf.classify(w)
                h1, hc1 = time.perf_counter(), time.process_time()
                s = stats[v.name]
                s["wall"] += w1 - w0
                s["cpu"] += c1 - c0
                s["head"] += h1 - h0
                s["head_cpu"] += hc1 - hc0
                s["frames"] += len(frames)
                s["windows"] += len(windows)
                s["landmark_runs"] += est.landmark_runs - lm0
                s["detector_runs"] += est.detector_runs - det0
                rows[v.name][path] = out
            for name, ref in refs.items():  # on the first bundle's sampled frames, between the variants' turns
                frames = next(iter(clips_by_interval.values()))[path]
                ref.reset()
                c0 = time.process_time()
                for f in frames:
                    ref.step(f)
                ref_cpu[name] += time.process_time() - c0
                ref_frames[name] += len(frames)
        log(f"pose path: round {r + 1} of {rounds} done")
    motion_cache: dict[tuple[str, int, float], float | None] = {}
    reference = rows.get(REFERENCE)
    sizes = {p: f[0].shape[:2] for clips in clips_by_interval.values() for p, f in clips.items() if f}
    jitter = {v.name: steady_jitter(rows[v.name]) if _every_frame(v) else None for v in variants}
    scales = noise_scales(variants, jitter)
    result_rows = []
    for v in variants:
        b, clf = bundles[v.bundle], classifiers[(v.bundle, v.threads)]
        real = evaluate(b, root, clf, lambda p, _v=v, _b=b: _windows(rows[_v.name][p], _b.seq_len))
        key = (v.bundle, v.mode.landmark_every, scales.get(v.landmarks, 1.0))
        pixel_only = v.mode.still_threshold is not None or v.mode.detect_every_frame
        if not pixel_only and key not in motion_cache:
            motion_cache[key] = (motion_accuracy(b, v.mode.landmark_every, motion_actors, key[2])
                                 if motion_accuracy else None)
        s = stats[v.name]
        n = max(s["frames"], 1)
        nw = max(s["windows"], 1)
        result_rows.append(_row(v, b, {  # the head runs once per sampled frame at stride 1: counted in
            "ms_per_sampled_frame": round(1e3 * (s["wall"] / n + s["head"] / nw), 2),
            "cpu_ms_per_sampled_frame": round(1e3 * (s["cpu"] / n + s["head_cpu"] / nw), 2),
            "head_ms_per_window": round(1e3 * s["head"] / nw, 3),
            "head_cpu_ms_per_window": round(1e3 * s["head_cpu"] / nw, 3),
            "landmark_share": round(s["landmark_runs"] / n, 3), "detector_share": round(s["detector_runs"] / n, 3),
            "sampled_frames": s["frames"] // rounds, "windows": s["windows"] // rounds,
            "real_window_accuracy_open": real["window_accuracy_open"],
            "real_window_accuracy_restricted": real["window_accuracy_restricted"],
            "real_clip_accuracy_open": real["clip_accuracy_open"],
            "real_windows_without_pose": real["windows_without_pose"],
            "motion_accuracy": None if pixel_only else motion_cache[key],
            "motion_noise_scale": None if pixel_only else key[2], "steady_jitter": jitter[v.name],
            **agreement(rows[v.name], reference, sizes),
        }))
    for name, ref in refs.items():
        result_rows.append(reference_row(name, ref, round(1e3 * ref_cpu[name] / max(ref_frames[name], 1), 2)))
    return {"created_at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "cpu": cpu_name(),
            "real_clips": str(root), "clips": len(next(iter(clips_by_interval.values()))), "rounds": rounds,
            "motion_actors": motion_actors, "rows": result_rows}


def agreement(rows: dict[Path, np.ndarray], reference: dict[Path, np.ndarray] | None,
              sizes: dict[Path, tuple[int, int]]) -> dict:
    """How far a variant's landmarks are from the reference's on the same frames (skipped frames filled).

    ``landmark_px_median``: median distance in pixels of the 33 body landmarks
    over frames where both found a pose; ``found_disagreement``: share of
    frames where one found a pose and the other did not. ``sizes``: each
    clip's frame (height, width). None without a reference in the run.
    """
    from har.edge.pose.modes import fill_skipped

    none = {"landmark_px_median": None, "found_disagreement": None}
    if reference is None or any(rows[p].shape != r.shape for p, r in reference.items()):
        return none  # no reference, or another sampling interval: not the same frames
    dists, disagree, n = [], 0, 0
    for path, ref in reference.items():
        mine = fill_skipped(rows[path])
        ref = fill_skipped(ref)
        h, w = sizes[path]
        found_a = np.isfinite(mine[:, :, :2]).all(axis=(1, 2))
        found_b = np.isfinite(ref[:, :, :2]).all(axis=(1, 2))
        both = found_a & found_b
        d = (mine[both, :, :2] - ref[both, :, :2]) * np.array([w, h], np.float32)
        dists.append(np.hypot(d[..., 0], d[..., 1]).ravel())
        disagree += int((found_a != found_b).sum())
        n += len(ref)
    alld = np.concatenate(dists) if dists else np.zeros(0)
    return {"landmark_px_median": round(float(np.median(alld)), 2) if alld.size else None,
            "found_disagreement": round(disagree / max(n, 1), 3)}


#: Face landmarks (nose to mouth) and the shoulders: a rigid part of the body in every action of the vocabulary.
_FACE, _SHOULDERS, _HIPS = np.arange(11), (11, 12), (23, 24)


def steady_jitter(rows: dict[Path, np.ndarray]) -> float | None:
    """Median frame-to-frame movement of the face relative to the shoulder centre, in torso lengths.

    Over consecutive frames where both have a pose. The face moves little
    against the shoulders in every action here, so what is left is mostly
    the landmark model's own jitter: the quantity the generator's estimator
    model was calibrated on. None when no two consecutive frames have a pose.
    """
    moves = []
    for track in rows.values():
        arr = np.asarray(track, np.float64)
        if len(arr) < 2:
            continue
        shoulders = arr[:, _SHOULDERS, :2].mean(axis=1)
        torso = np.linalg.norm(shoulders - arr[:, _HIPS, :2].mean(axis=1), axis=-1)
        rel = (arr[:, _FACE, :2] - shoulders[:, None]) / np.maximum(torso, 1e-6)[:, None, None]
        step = np.linalg.norm(rel[1:] - rel[:-1], axis=-1)  # (T-1, 11); NaN where a frame has no pose
        moves.append(step[np.isfinite(step).all(axis=1)].ravel())
    allm = np.concatenate(moves) if moves else np.zeros(0)
    return round(float(np.median(allm)), 5) if allm.size else None


def noise_scales(variants: list[PathVariant], jitter: dict[str, float | None]) -> dict[str | None, float]:
    """Landmark model file -> its steady jitter over the reference's (at least 1); the bundle's own model: 1."""
    ref = jitter.get(REFERENCE)
    out: dict[str | None, float] = {None: 1.0}
    for v in variants:
        if v.landmarks is None or v.landmarks in out or not _every_frame(v) or not v.prune:
            continue
        mine = jitter.get(v.name)
        out[v.landmarks] = round(max(1.0, mine / ref), 2) if ref and mine else 1.0
    return out


def _every_frame(v: PathVariant) -> bool:
    return v.mode.landmark_every == 1 and v.mode.still_threshold is None and not v.mode.detect_every_frame


def _row(v: PathVariant, bundle, pose: dict) -> dict:
    row = dict.fromkeys(ROW_FIELDS)
    row.update(model="pose path", variant=v.name, backend="ai-edge-litert", status="ok",
               files=[str(bundle.path)], test_accuracy=pose["motion_accuracy"],
               accuracy_source="generated test people (har eval-motion); real clips in pose",
               latency_frame_ms={str(v.threads): {"p50": pose["ms_per_sampled_frame"]}},
               pose={**pose, "threads": v.threads, "interval_s": bundle.interval_s, "seq_len": bundle.seq_len,
                     "landmark_every": v.mode.landmark_every, "still_threshold": v.mode.still_threshold,
                     "detect_every_frame": v.mode.detect_every_frame})
    return row


def pareto(rows: list[dict]) -> set[str]:
    """Variants no other variant beats on both CPU cost and real-clip window accuracy (then generated accuracy)."""
    def key(r):
        p = r["pose"]
        return p["cpu_ms_per_sampled_frame"], -(p["real_window_accuracy_open"] or 0), -(p["motion_accuracy"] or 0)

    rows = [r for r in rows if not r["pose"].get("reference")]
    front = set()
    for r in rows:
        c, a, m = key(r)
        if not any((key(o)[0] <= c and key(o)[1] <= a and key(o)[2] <= m) and key(o) != (c, a, m) for o in rows):
            front.add(r["variant"])
    return front


def render(report: dict) -> str:
    """The rows as a Markdown table, the Pareto front marked."""
    front = pareto(report["rows"])
    lines = [f"Run {report['created_at']} on {report['cpu']}: {report['clips']} real clips under "
             f"{report['real_clips']}, {report['rounds']} interleaved rounds; generated test people: "
             f"{report['motion_actors']} actors (har eval-motion).", "",
             "| variant | interval x window | threads | ms / sampled frame | CPU ms / sampled frame | landmark model on "
             "| detector on | real clips: window acc (open / restricted) | generated people: acc "
             "| landmarks vs reference: median px / found differs | steady jitter (torso) | front |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|"]
    for r in sorted(report["rows"], key=lambda r: r["pose"]["cpu_ms_per_sampled_frame"]):
        p = r["pose"]
        if p.get("reference"):
            lines.append(f"| {r['variant']} | every sampled frame | {p['threads']} | - | "
                         f"{p['cpu_ms_per_sampled_frame']:.1f} | - | - | - | - | - | - |  |")
            continue
        motion = "n/a (pixels)" if p["motion_accuracy"] is None else f"{p['motion_accuracy']:.3f}"
        if p.get("motion_noise_scale") not in (None, 1.0):
            motion += f" (noise x{p['motion_noise_scale']:g})"
        jit = "-" if p.get("steady_jitter") is None else f"{p['steady_jitter']:.4f}"
        lines.append(f"| {r['variant']} | {p['interval_s']:g} s x {p['seq_len']} | {p['threads']} | "
                     f"{p['ms_per_sampled_frame']:.1f} | {p['cpu_ms_per_sampled_frame']:.1f} | "
                     f"{p['landmark_share']:.0%} | {p['detector_share']:.0%} | "
                     f"{_acc(p['real_window_accuracy_open'])} / {_acc(p['real_window_accuracy_restricted'])} | "
                     f"{motion} | {_agree(p)} | {jit} | {'*' if r['variant'] in front else ''} |")
    return "\n".join(lines) + "\n"


def _agree(p: dict) -> str:
    if p.get("landmark_px_median") is None:
        return "-"
    return f"{p['landmark_px_median']:.2f} / {p['found_disagreement']:.1%}"


def _acc(v) -> str:
    return "-" if v is None else f"{v:.3f}"
