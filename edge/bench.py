"""The device half of the benchmark: latency, pipeline throughput and peak memory, without TensorFlow.

Used twice, so both give the same rows: on the workstation ``har bench``
(:mod:`har.export.bench`) runs it in child processes, one per interpreter
backend (ai-edge-litert here, tflite-runtime from its own venv); on the Pi,
``har-edge bench BUNDLE`` runs it on the device itself.

How each number is measured, and why that way:

* **Latency** (p50 and p95 after warm-up): every (variant, threads) pair runs
  a few calls per round, round after round, in one process, so a slow moment
  of a shared machine hits every variant alike and the ratios stay fair. *Per
  window* classifies a full window from scratch; *per new frame* is what one
  more sampled frame costs at stride 1: the whole window again for a
  whole-window model, one encoder call plus the head on cached features for
  streaming.
* **Throughput**: the real edge pipeline (FileSource decode -> sampler ->
  resize -> window -> classifier -> smoother) over a 640x480 30 fps file at
  stride 1, counted from the first classified window on (the steady state a
  camera sees; the first seconds only fill the window). Passes are
  interleaved across variants too.
* **Pose bundles** have one variant, run like streaming: *per new frame* is
  the pose estimator on that frame plus the head on the cached keypoints.
  The row's ``pose`` field splits it: ms per detector run and the share of
  frames it ran on (it runs only when nobody is tracked), ms per landmark
  run, and the head alone. Give them a ``--video`` with a person in it: on
  the generated clip the detector finds nobody and runs on every frame.
* **Peak memory**: the peak RSS (``VmHWM``) of a fresh process that loads only that
  variant and runs the pipeline over the file, since one process's peak cannot
  be split between models that shared it. The peak after imports alone is
  reported beside it, so the model's own share is visible.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np

from har.edge.bundle import MODEL_FILES, POSE_CACHE_FILES, POSE_MODELS, load_bundle
from har.edge.config import MAX_THREADS
from har.edge.errors import HarError
from har.edge.interpreter import TfliteModel, backend_name
from har.edge.pipeline import Classifier, Pipeline
from har.edge.predict import windows_of_file
from har.edge.records import ConfigError

log = logging.getLogger(__name__)

VIDEO_FPS = 30.0
VIDEO_SIZE = (640, 480)
#: Windows classified per pipeline pass after the first (a 0.1 s interval makes that 2 s of 30 fps video).
STEADY_WINDOWS = 20
#: Windows the memory child runs: enough to reach the peak, not to time anything.
MEMORY_WINDOWS = 3
#: Every field of a table row, in output order (``har bench`` rows add accuracy; the device leaves it None).
ROW_FIELDS = ("model", "variant", "backend", "status", "error", "params", "files", "bytes", "test_accuracy",
              "macro_f1", "agreement_with_keras", "accuracy_source", "latency_window_ms", "latency_frame_ms",
              "throughput", "peak_rss_mib", "baseline_rss_mib", "cpu_ops", "pose")


class BenchError(HarError, RuntimeError):
    """A benchmark that could not run; the message is one sentence saying why."""


@dataclass(frozen=True)
class Variant:
    """One thing to time: a bundle run whole-window or streaming, with optional test clips to classify."""

    name: str
    bundle: str
    mode: str  # "window" or "streaming"
    test_clips: str | None = None  # .npz with "clips" (uint8, N x seq_len x H x W x 3)


def parse_threads(text: str) -> tuple[int, ...]:
    """``"1,2"`` -> ``(1, 2)``; a ConfigError (a ValueError) with one sentence otherwise."""
    try:
        threads = tuple(int(t) for t in text.split(",") if t.strip())
    except ValueError:
        threads = ()
    if not threads or min(threads) < 1 or max(threads) > MAX_THREADS:
        raise ConfigError(f"--threads must be comma-separated positive integers (at most {MAX_THREADS}) such as "
                         f"1,2, not {text!r}")
    return threads


# --------------------------------------------------------------------------- input video


def write_test_video(path: str | Path, seconds: float = 8.0, seed: int = 0) -> Path:
    """A 640x480 30 fps mp4 of moving shapes on a textured background (what a camera file costs to decode).

    Texture and motion matter: a flat frame decodes far faster than a real
    scene, which would flatter the pipeline.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    w, h = VIDEO_SIZE
    rng = np.random.default_rng(seed)
    background = cv2.GaussianBlur(rng.integers(40, 200, (h, w, 3), dtype=np.uint8), (0, 0), 3)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), VIDEO_FPS, (w, h))
    if not writer.isOpened():
        raise BenchError(f"OpenCV cannot write an mp4 video to {path}")
    for i in range(int(seconds * VIDEO_FPS)):
        t = i / VIDEO_FPS
        frame = background.copy()
        x, y = int(w * (0.5 + 0.35 * np.sin(t))), int(h * (0.55 + 0.15 * np.sin(3 * t)))
        cv2.circle(frame, (x, y - 90), 28, (40, 200, 230), -1)
        cv2.line(frame, (x, y - 60), (x, y + 40), (230, 230, 230), 10)
        for side in (-1, 1):
            cv2.line(frame, (x, y - 40), (x + side * int(60 * np.cos(4 * t)), y - 40 + int(50 * np.sin(4 * t))),
                     (230, 230, 230), 8)
            cv2.line(frame, (x, y + 40), (x + side * 35, y + 130), (230, 230, 230), 8)
        noise = rng.integers(0, 12, (h, w, 1), dtype=np.uint8)
        writer.write(cv2.add(frame, np.broadcast_to(noise, frame.shape)))
    writer.release()
    return path


# --------------------------------------------------------------------------- timing


def summarize(seconds: Iterable[float]) -> dict:
    """p50 and p95 in milliseconds of per-call times given in seconds."""
    s = np.asarray(list(seconds), dtype=np.float64) * 1e3
    return {"p50": round(float(np.percentile(s, 50)), 4), "p95": round(float(np.percentile(s, 95)), 4),
            "n": int(s.size)}


def time_interleaved(runners: dict[str, Callable[[], object]], rounds: int = 7, per_round: int = 8,
                     warmup: int = 3) -> dict[str, dict]:
    """p50/p95 ms per call of each runner, interleaved round by round after ``warmup`` calls each."""
    samples: dict[str, list[float]] = {k: [] for k in runners}
    for fn in runners.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for key, fn in runners.items():
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                samples[key].append(time.perf_counter() - t0)
    return {k: summarize(v) for k, v in samples.items()}


class _SteadyState:
    """Wraps a classifier: notes when the first window is classified and ends the pass ``windows`` later.

    Throughput is counted from the first classified window, because the
    seconds before it only fill the window; capping the windows keeps a slow
    variant from taking minutes per pass.
    """

    def __init__(self, inner, source, windows: int):
        self.inner, self.source, self.windows = inner, source, windows
        self.started: tuple[float, int] | None = None  # (perf_counter, index of the frame being processed)
        self.classified = 0

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        return self.inner.item(frame_u8)

    def classify(self, window: np.ndarray) -> np.ndarray:
        if self.started is None:
            self.started = (time.perf_counter(), self.source.frames_read)
        probs = self.inner.classify(window)
        self.classified += 1
        if self.classified > self.windows:
            self.source.stop()  # the pipeline ends at the next read
        return probs


def pipeline_pass(bundle, classifier, video: str | Path, windows: int = STEADY_WINDOWS) -> dict | None:
    """Run the edge :class:`Pipeline` over ``video`` at stride 1: frames/s from the first classified window on.

    ``classifier`` is anything with the pipeline's ``item``/``classify``
    interface (the Keras rows of ``har bench`` pass a Keras one). The pass
    ends ``windows`` windows after the first one, or at the end of the file.
    None for a bundle trained with uniform sampling, which the live pipeline
    cannot run.
    """
    from har.edge.config import load_config
    from har.edge.sinks.base import MultiSink
    from har.edge.sources import FileSource

    if bundle.sampling_mode != "interval":
        return None
    cfg = load_config(None, {"inference.stride": 1, "metrics.interval_s": 0.0})
    source = FileSource(video)
    timed = _SteadyState(classifier, source, windows)
    pipe_log = logging.getLogger("har.edge.pipeline")
    level = pipe_log.level
    pipe_log.setLevel(logging.WARNING)  # its metrics line at the end of a run would print once per pass
    try:
        summary = Pipeline(cfg, bundle, MultiSink([]), classifier=timed).run(source)
    finally:
        pipe_log.setLevel(level)
    end = time.perf_counter()
    if timed.started is None:
        raise BenchError(f"{video} is too short for one window of {bundle.seq_len} frames "
                         f"{bundle.interval_s:g} s apart")
    t0, first_frame = timed.started
    fps = (summary.frames - first_frame) / max(end - t0, 1e-9)
    return {"fps": round(fps, 2), "x_realtime": round(fps / source.fps, 2), "windows": timed.classified}


def decode_pass(video: str | Path) -> float:
    """Frames/s of decoding ``video`` alone: the ceiling any pipeline pass can reach."""
    from har.edge.sources import FileSource

    source = FileSource(video)
    t0 = time.perf_counter()
    n = sum(1 for _ in source)
    return round(n / max(time.perf_counter() - t0, 1e-9), 2)


# --------------------------------------------------------------------------- one process, every variant


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
        files = _files(v)
        results[v.name] = {"mode": v.mode, "files": [p.name for p in files],
                           "bytes": sum(p.stat().st_size for p in files), "error": None}
        try:
            clip = next(windows_of_file(video, load_bundle(v.bundle)))
            for t in threads:
                loaded[v.name, t] = _Loaded(v, t, clip)
        except Exception as e:  # a runtime refusing a model is a result, not a crash
            log.warning("%s cannot run on %s: %s", v.name, backend_name(), e)
            results[v.name]["error"] = _one_line(e)
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


def median_pass(passes: list[dict | None]) -> dict | None:
    """The pass with the median frames/s (its x real time and inference count come with it)."""
    done = sorted((p for p in passes if p is not None), key=lambda p: p["fps"])
    return done[len(done) // 2] if done else None


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


# --------------------------------------------------------------------------- memory: one process per variant


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    ``VmHWM`` from /proc, not ``ru_maxrss``: Linux carries the parent's peak
    into a child across fork and exec, so a child started by a 1 GB parent
    would report at least 1 GB. ``ru_maxrss`` (KiB on Linux, bytes on macOS)
    is the fallback where there is no /proc.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (2**20 if sys.platform == "darwin" else 2**10), 1)


def peak_memory(bundle, make_classifier: Callable[[], object], video: str | Path) -> dict:
    """Peak RSS after loading ``make_classifier()`` and running the pipeline over ``video``.

    Meaningful only in a fresh process that has run nothing else; the peak
    before loading (imports and runtime only) comes back as the baseline.
    """
    baseline = peak_rss_mib()
    pipeline_pass(bundle, make_classifier(), video, MEMORY_WINDOWS)
    return {"peak_rss_mib": peak_rss_mib(), "baseline_rss_mib": baseline}


def _memory_here(variant: Variant, threads: int, video: str) -> dict:
    backend_name()  # import the runtime before the baseline is taken
    bundle = load_bundle(variant.bundle)
    try:
        return peak_memory(bundle, lambda: Classifier(bundle, threads, None,
                                                      "on" if variant.mode == "streaming" else "off"), video)
    except Exception as e:  # reported in the row, like the timing child does
        return {"error": _one_line(e)}


def run_child(python: str | Path, args: list[str], out: Path, timeout_s: float = 1800) -> dict:
    """Run ``python -m har.edge.bench ARGS OUT`` and return the JSON it wrote; :class:`BenchError` if it failed."""
    cmd = [str(python), "-m", "har.edge.bench", *args, str(out)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the benchmark child {python} did not finish in {timeout_s:.0f} s") from None
    if res.returncode != 0 or not out.is_file():
        last = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
        raise BenchError(f"the benchmark child {python} failed: {last}")
    return json.loads(out.read_text())


def memory_in_child(python: str | Path, variant: Variant, threads: int, video: str | Path, work: Path) -> dict:
    """Peak memory of ``variant`` in its own process of ``python``."""
    out = work / f"memory-{len(list(work.glob('memory-*.json')))}.json"
    return run_child(python, ["memory", variant.bundle, variant.mode, str(threads), str(video)], out)


def measure_in_child(python: str | Path, variants: list[Variant], threads: tuple[int, ...], video: str | Path,
                     work: Path, **timing) -> dict:
    """:func:`measure` in a process of ``python`` (another venv means another interpreter backend)."""
    tag = len(list(work.glob("plan-*.json")))
    plan = work / f"plan-{tag}.json"
    plan.write_text(json.dumps({"variants": [asdict(v) for v in variants], "threads": list(threads),
                                "video": str(video), "timing": timing}))
    return run_child(python, ["measure", str(plan)], work / f"measured-{tag}.json")


# --------------------------------------------------------------------------- environment and rows


def environment() -> dict:
    """The machine, the libraries and the date: a benchmark number means nothing without them."""
    def dist(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_name(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "system": f"{platform.system()} {platform.release()}",
            "machine": platform.machine(), "python": platform.python_version(), "executable": sys.executable,
            "runtime": backend_name(), "numpy": np.__version__, "opencv": cv2.__version__,
            "har_edge": dist("har-edge"),
            "delegate": "none requested: the runtime's default CPU delegate (XNNPACK) is on"}


def cpu_name() -> str:
    """The CPU model ('model name' on x86, the board 'Model' on a Raspberry Pi)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name") or fields.get("Model") or platform.processor() or platform.machine()


def device_row(model: str, variant: str, result: dict | None, memory: dict | None, backend: str,
               **extra) -> dict:
    """One table row with every field of :data:`ROW_FIELDS` (None where not measured)."""
    row = dict.fromkeys(ROW_FIELDS)
    row.update(model=model, variant=variant, backend=backend, status="ok")
    if result is not None:
        for key in ("files", "bytes", "latency_window_ms", "latency_frame_ms", "throughput", "cpu_ops", "pose"):
            row[key] = result.get(key)
        if result.get("error"):
            row.update(status="error", error=result["error"])
    if memory is not None:
        if memory.get("error") and row["status"] == "ok":
            row.update(status="error", error=memory["error"])
        row["peak_rss_mib"], row["baseline_rss_mib"] = memory.get("peak_rss_mib"), memory.get("baseline_rss_mib")
    row.update(extra)
    return row


def table_lines(rows: list[dict], threads: Iterable[int]) -> list[str]:
    """The benchmark table in Markdown: one line per row, the same on the workstation and the device."""
    ts = [str(t) for t in threads]
    head = (["model", "variant", "backend", "params", "KiB", "test acc", "macro-F1"]
            + [f"ms/window @{t}t p50 / p95" for t in ts] + [f"ms/new frame @{t}t p50 / p95" for t in ts]
            + ["peak RSS MiB (+ over imports)"] + [f"pipeline fps @{t}t (x real time)" for t in ts] + ["status"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * 3 + "---:|" * (len(head) - 4) + "---|"]
    for r in rows:
        lat = [_pair(r["latency_window_ms"], t) for t in ts] + [_pair(r["latency_frame_ms"], t) for t in ts]
        tp = [(f"{r['throughput'][t]['fps']:.1f} ({r['throughput'][t]['x_realtime']:.1f}x)"
               if (r["throughput"] or {}).get(t) else "-") for t in ts]
        cells = [r["model"], r["variant"], r["backend"], f"{r['params']:,}" if r["params"] else "-",
                 f"{r['bytes'] / 1024:.1f}" if r["bytes"] else "-", _num(r["test_accuracy"]), _num(r["macro_f1"]),
                 *lat, _memory(r), *tp, r["status"]]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return lines


def note_lines(rows: list[dict]) -> list[str]:
    """Why rows have no numbers: one line per (backend, reason), naming the rows it applies to."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for r in rows:
        if r["status"] != "ok":
            groups.setdefault((r["backend"], r["status"], r["error"]), []).append(f"{r['model']} {r['variant']}")
    return [f"- {backend}, {', '.join(names)}: {status}: {why}" for (backend, status, why), names in groups.items()]


def pose_lines(rows: list[dict]) -> list[str]:
    """What one new frame costs a pose bundle, model by model (the table's ms/new frame is their sum)."""
    out = []
    for r in rows:
        p = r.get("pose")
        if r["status"] == "ok" and p:
            landmarks = (f"landmarks {p['landmarks_ms']:.2f} ms per run" if p.get("landmark_runs")
                         else "landmarks never ran (nobody found: use a --video with a person)")
            out.append(f"- {r['model']} {r['variant']} ({r['backend']}): pose detector {p['detector_ms']:.2f} ms per "
                       f"run, ran on {100 * p['detector_rate']:.1f}% of {p['frames']} frames; {landmarks}; "
                       f"head (features + LSTM) {p['head_ms']['p50']:.3f} ms")
    return out


def _memory(r: dict) -> str:
    """``peak (+ share)``: the peak, and how far the model and the pipeline raised it above the imports alone."""
    if r["peak_rss_mib"] is None:
        return "-"
    return f"{r['peak_rss_mib']:.0f} (+{r['peak_rss_mib'] - r['baseline_rss_mib']:.0f})"


def _pair(d: dict | None, t: str) -> str:
    return f"{d[t]['p50']:.2f} / {d[t]['p95']:.2f}" if d and t in d else "-"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


# --------------------------------------------------------------------------- har-edge bench


def bench_bundle(bundle_dir: str | Path, threads: tuple[int, ...] = (1, 2), video: str | Path | None = None,
                 **timing) -> dict:
    """Benchmark a bundle's models on this machine (whole window, and streaming if it has the pair).

    Accuracy cannot be measured here (no test split on the device): it is
    taken from the ``report.json`` that ``har export`` leaves in the bundle,
    when there is one.
    """
    bundle = load_bundle(bundle_dir)
    q = bundle.quantization
    variants = [Variant(q, str(bundle.path), "streaming" if bundle.is_pose else "window")]
    if bundle.has_streaming:
        variants.append(Variant(f"streaming-{q}", str(bundle.path), "streaming"))
    with tempfile.TemporaryDirectory(prefix="har-bench-") as tmp:
        work = Path(tmp)
        video = Path(video) if video else write_test_video(work / "video-640x480.mp4")
        measured = measure(variants, threads, video, **timing)
        memory = {v.name: memory_in_child(sys.executable, v, max(threads), video, work) for v in variants}
    accuracy = report_accuracy(bundle.path)
    model = str((bundle.metadata.get("source") or {}).get("model") or "bundle")
    rows = [device_row(model, v.name, measured["variants"][v.name], memory[v.name], measured["environment"]["runtime"],
                       **accuracy.get(v.name, {})) for v in variants]
    return {"environment": measured["environment"], "decode_fps": measured["decode_fps"],
            "method": measured["method"], "threads": list(threads), "rows": rows}


def report_accuracy(bundle_dir: Path) -> dict[str, dict]:
    """Test accuracy per variant from the bundle's ``report.json`` (``har export``), if there is one."""
    path = bundle_dir / "report.json"
    if not path.is_file():
        return {}
    try:
        variants = json.loads(path.read_text()).get("variants") or []
    except (json.JSONDecodeError, AttributeError):
        log.warning("%s is not a readable export report; accuracy left out", path)
        return {}
    return {r["name"]: {"test_accuracy": r.get("test_accuracy"), "macro_f1": r.get("macro_f1"),
                        "agreement_with_keras": r.get("agreement_with_keras"),
                        "accuracy_source": "report.json of har export (held-out test split)"}
            for r in variants if isinstance(r, dict) and "name" in r}


# --------------------------------------------------------------------------- child entry point


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m har.edge.bench",
                                description="Benchmark child of `har bench` / `har-edge bench` (not for direct use).")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="time every variant of a plan side by side")
    m.add_argument("plan")
    m.add_argument("out")
    k = sub.add_parser("memory", help="peak memory of one variant in this fresh process")
    for name in ("bundle", "mode", "threads", "video", "out"):
        k.add_argument(name, type=int if name == "threads" else str)
    a = p.parse_args(argv)
    if a.cmd == "measure":
        plan = json.loads(Path(a.plan).read_text())
        result = measure([Variant(**v) for v in plan["variants"]], tuple(plan["threads"]), plan["video"],
                         **plan.get("timing", {}))
    else:
        result = _memory_here(Variant("memory", a.bundle, a.mode), a.threads, a.video)
    Path(a.out).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
