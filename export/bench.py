"""``har bench``: accuracy against latency, size and memory of every model variant, in one run.

For each trained model directory (``artifacts/lrcn``, ``artifacts/convlstm``)
every TFLite variant is converted once (fp32, dynamic, fp16, int8, and the
int8 streaming pair for LRCN; a variant the converter refuses becomes an error
row, the others go on), each is wrapped in a bundle, and then:

* one child process per interpreter backend (ai-edge-litert from this venv,
  tflite-runtime from its own venv) classifies the model's held-out
  group-disjoint test split with every variant and times all of them side by
  side (:func:`har.edge.bench.measure`), so ratios are fair on a noisy,
  shared machine;
* one short child per (variant, backend) gives that variant's peak memory,
  which a process shared with other models could not;
* the Keras models run in TensorFlow children, one per thread count
  (TensorFlow fixes its thread pools when it starts).

The parent never imports TensorFlow (as ``har export``): conversion and the
Keras reference run in subprocesses. Outputs: ``bench.json`` (every number,
the machine, library versions, date), ``bench.md`` (the table) and
``pareto.png`` (accuracy against latency, Pareto front marked).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from har.edge.bench import (
    STEADY_WINDOWS,
    BenchError,
    Variant,
    device_row,
    measure_in_child,
    memory_in_child,
    note_lines,
    pose_lines,
    report_accuracy,
    table_lines,
    write_test_video,
)
from har.edge.bundle import load_bundle
from har.export.report import compare
from har.export.tflite import (
    Conversion,
    ExportError,
    ModelDir,
    assemble_bundle,
    bundle_files,
    calibration_clips,
    convert_models,
    load_model_dir,
    load_splits,
    targets_for,
)

log = logging.getLogger(__name__)

FAMILIES = ("convlstm", "lrcn")
#: Window variants in table order; the streaming pair is benchmarked in int8, the mode a device runs.
WINDOW_QUANTS = ("fp32", "dynamic", "fp16", "int8")
STREAMING_QUANTS = ("int8",)
#: Where `make tflite-runtime-venv` puts the second backend (see docs/benchmark.md).
TFLITE_RUNTIME_VENV = Path(".venv-tflrt")
GENERATED_VIDEO = "video-640x480.mp4"  # written when no --video is given


@dataclass
class Family:
    """One trained model prepared for the bench: its test split, Keras reference and converted bundles."""

    md: ModelDir  # the private copy the run works on
    origin: Path  # the model directory it was copied from
    test_y: np.ndarray
    test_clips: Path
    keras_probs: np.ndarray
    bundles: dict[str, Path] = field(default_factory=dict)  # quant -> bundle dir
    errors: dict[str, str] = field(default_factory=dict)  # quant -> why it did not export

    @property
    def name(self) -> str:
        return self.md.family

    @property
    def params(self) -> int | None:
        return self.md.metrics.get("num_params")


def find_models(root: Path) -> list[ModelDir]:
    """The trained model directories under ``root`` (``lrcn``, ``convlstm``); ExportError if there is none."""
    found = [load_model_dir(root / f) for f in FAMILIES if (root / f / "model.keras").is_file()]
    if not found:
        raise ExportError(f"no trained model in {root} (looked for {', '.join(f'{root / f}' for f in FAMILIES)}); "
                          "train first with `make train`")
    return found


def snapshot(md: ModelDir, work: Path, data: Path | None) -> ModelDir:
    """A private copy of ``md`` (with ``data`` as its dataset root, if given) for the whole run.

    A retrain that replaces ``artifacts/`` while the bench runs would
    otherwise put two different models into one table (converted before the
    swap, timed in Keras after it).
    """
    copy = work / "models" / md.family
    copy.mkdir(parents=True)
    for name in ("model.keras", "labels.json", "config.json", "metrics.json"):
        if (md.path / name).is_file():
            shutil.copy2(md.path / name, copy / name)
    md = load_model_dir(copy)
    return dataclasses.replace(md, config={**md.config, "data": str(data)}) if data is not None else md


def convert_variants(md: ModelDir, work: Path, train_x: np.ndarray, test_x: np.ndarray, samples: int,
                     log: Callable[[str], None]) -> tuple[Conversion, dict[str, str]]:
    """Every variant in one conversion run; if that fails, one run per quantization so one failure costs one row."""
    calibration = calibration_clips(md, train_x, samples)
    targets = targets_for(md, list(WINDOW_QUANTS), list(STREAMING_QUANTS))
    try:
        return convert_models(md, work, targets, calibration=calibration, evaluate=test_x), {}
    except ExportError as e:
        log(f"{md.family}: converting all variants in one run failed ({e}); converting one mode at a time")
    conv = convert_models(md, work / "keras", [], evaluate=test_x)
    errors: dict[str, str] = {}
    for q in WINDOW_QUANTS:
        try:
            part = convert_models(md, work / q, targets_for(md, [q], [q] if q in STREAMING_QUANTS else []),
                                  calibration=calibration if q == "int8" else None)
        except ExportError as e:
            errors[q] = str(e)
            continue
        conv.files.update(part.files)
        conv.seconds.update(part.seconds)
        conv.calibration = part.calibration or conv.calibration
    return conv, errors


def prepare_family(md: ModelDir, origin: Path, splits, work: Path, samples: int,
                   log: Callable[[str], None]) -> Family:
    """Convert every variant of ``md`` and assemble one bundle per quantization.

    ``splits`` is ``load_splits(md, test=True)``: training clips (int8
    calibration only) and the held-out test split.
    """
    train_x, (test_x, test_y) = splits
    if not len(test_y):
        raise ExportError(f"{origin} has an empty test split; the benchmark measures accuracy on held-out clips")
    (work / md.family).mkdir(parents=True, exist_ok=True)
    clips = work / md.family / "test.npz"
    np.savez(clips, clips=test_x)
    log(f"{md.family}: converting {', '.join(WINDOW_QUANTS)} and the streaming pair; Keras on "
        f"{len(test_y)} test clips")
    conv, errors = convert_variants(md, work / md.family / "convert", train_x, test_x, samples, log)
    fam = Family(md, origin, test_y, clips, conv.keras_probs, errors=errors)
    for q in WINDOW_QUANTS:
        if q in errors:
            continue
        files = bundle_files(md, conv, q) if q in STREAMING_QUANTS else {"window": conv.files["window", q]}
        try:
            fam.bundles[q] = assemble_bundle(md, work / "bundles" / f"{md.family}-{q}", q, files, conv)
        except ExportError as e:
            fam.errors[q] = str(e)
    return fam


# --------------------------------------------------------------------------- backends


def tflite_runtime_python(explicit: Path | None) -> tuple[Path | None, str | None]:
    """The Python of the tflite-runtime venv, or None and why it is skipped.

    An explicit path that does not exist is a user error; a missing default
    venv only skips that backend's rows.
    """
    path = explicit or TFLITE_RUNTIME_VENV / "bin" / "python"
    if not path.exists():
        if explicit:
            raise ExportError(f"--tflite-runtime-python {explicit} does not exist")
        return None, (f"no tflite-runtime venv at {TFLITE_RUNTIME_VENV} (create it with "
                      "`make tflite-runtime-venv`, see docs/benchmark.md)")
    probe = subprocess.run([str(path), "-c", "from har.edge.interpreter import backend_name; print(backend_name())"],
                           capture_output=True, text=True, timeout=120)
    runtime = probe.stdout.strip()
    if probe.returncode != 0:
        return None, f"{path} cannot import the edge runtime: {(probe.stderr.strip().splitlines() or ['?'])[-1]}"
    if not runtime.startswith("tflite-runtime"):
        return None, f"{path} runs {runtime}, not tflite-runtime (uninstall ai-edge-litert from that venv)"
    return path, None


def video_info(path: Path) -> dict:
    """Size, fps and length of the video the pipeline rows were timed on."""
    import cv2

    from har.edge.capture import open_video

    cap = open_video(path)
    try:
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps, n = cap.get(cv2.CAP_PROP_FPS) or 0.0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return {"file": path.name, "size": f"{w}x{h}", "fps": round(fps, 3), "seconds": round(n / fps, 2) if fps else None}


def variants_for(families: list[Family], bundles: list[Path] = ()) -> list[tuple[Variant, Family, str, str]]:
    """``(Variant, family, model label, variant label)`` for every TFLite row, in table order."""
    out = []
    for fam in families:
        for q in WINDOW_QUANTS:
            if q in fam.bundles:
                out.append((Variant(f"{fam.name}/{q}", str(fam.bundles[q]), "window", str(fam.test_clips)),
                            fam, fam.name, q))
        for q in STREAMING_QUANTS:
            if q in fam.bundles and load_bundle(fam.bundles[q]).has_streaming:
                out.append((Variant(f"{fam.name}/streaming-{q}", str(fam.bundles[q]), "streaming",
                                    str(fam.test_clips)), fam, fam.name, f"streaming-{q}"))
    for i, bundle in enumerate(bundles):
        out += _bundle_variants(load_bundle(bundle), families, f"bundle{i + 1 if len(bundles) > 1 else ''}")
    return out


def _bundle_variants(b, families: list[Family], key: str = "bundle") -> list[tuple[Variant, Family | None, str, str]]:
    """The deployed bundle's own files, scored on the test split of the model it was exported from."""
    if b.is_pose:  # its own test split is keypoint features: accuracy comes from the bundle's report.json
        return [(Variant(f"{key}/{b.quantization}", str(b.path), "streaming"), None, f"{key} (pose)",
                 b.quantization)]
    source = Path(str((b.metadata.get("source") or {}).get("model_dir") or ""))
    fam = next((f for f in families if f.origin.resolve() == source.resolve() and f.md.labels == b.labels), None)
    clips = str(fam.test_clips) if fam else None
    model = f"{key} ({fam.name if fam else b.path.name})"
    q = b.quantization
    out = [(Variant(f"{key}/{q}", str(b.path), "window", clips), fam, model, q)]
    if b.has_streaming:
        out.append((Variant(f"{key}/streaming-{q}", str(b.path), "streaming", clips), fam, model, f"streaming-{q}"))
    return out


# --------------------------------------------------------------------------- Keras rows


class KerasClassifier:
    """The Keras model behind the pipeline's ``item``/``classify`` interface (whole windows, graph mode)."""

    def __init__(self, model, normalization: str):
        import tensorflow as tf

        from har.edge.preprocess import normalize

        self._normalize = lambda x: normalize(x, normalization)
        shape = (1, *model.input_shape[1:])
        self._fn = tf.function(lambda x: model(x, training=False),
                               input_signature=[tf.TensorSpec(shape, tf.float32)])

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        return frame_u8

    def classify(self, window: np.ndarray) -> np.ndarray:
        return self._fn(self._normalize(window)[None])[0].numpy()


def keras_child(spec: dict) -> dict:
    """Latency, pipeline throughput and peak memory of a Keras model in this (fresh) process."""
    threads = int(spec["threads"])
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    from har.edge.bench import median_pass, peak_rss_mib, pipeline_pass, time_interleaved
    from har.edge.predict import windows_of_file

    baseline = peak_rss_mib()
    bundle = load_bundle(spec["bundle"])
    clf = KerasClassifier(keras.models.load_model(Path(spec["model_dir"]) / "model.keras", compile=False),
                          spec["normalization"])
    clip = next(windows_of_file(spec["video"], bundle))
    timing = spec["timing"]
    latency = time_interleaved({"window": lambda: clf.classify(clip)}, timing["rounds"], timing["per_round"],
                               timing["warmup"])["window"]
    throughput = median_pass([pipeline_pass(bundle, clf, spec["video"]) for _ in range(timing["passes"])])
    return {"latency_ms": latency, "throughput": throughput, "peak_rss_mib": peak_rss_mib(),
            "baseline_rss_mib": baseline, "backend": f"TensorFlow {tf.__version__} (Keras {keras.__version__})"}


def run_keras(fam: Family, threads: tuple[int, ...], video: Path, work: Path, timing: dict) -> dict:
    """Keras row for ``fam``: one TensorFlow child per thread count; memory from the largest."""
    if not fam.bundles:
        return device_row(fam.name, "keras", None, None, "TensorFlow", status="error",
                          error="no TFLite variant exported, so no bundle to take the pipeline settings from")
    per_thread = {}
    for t in threads:
        spec = {"model_dir": str(fam.md.path), "bundle": str(next(iter(fam.bundles.values()))), "threads": t,
                "video": str(video), "normalization": fam.md.normalization, "timing": timing}
        path = work / f"keras-{fam.name}-{t}.json"
        path.write_text(json.dumps(spec))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", ABSL_MIN_LOG_LEVEL="2")
        res = subprocess.run([sys.executable, "-m", "har.export.bench", str(path), str(path.with_suffix(".out"))],
                             capture_output=True, text=True, env=env, timeout=1800)
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            raise BenchError(f"the Keras benchmark child for {fam.origin} failed: {last}")
        per_thread[str(t)] = json.loads(path.with_suffix(".out").read_text())
    top = per_thread[str(max(threads))]
    result = {"files": ["model.keras"], "bytes": (fam.md.path / "model.keras").stat().st_size,
              "latency_window_ms": {t: r["latency_ms"] for t, r in per_thread.items()},
              "latency_frame_ms": {t: r["latency_ms"] for t, r in per_thread.items()},
              "throughput": {t: r["throughput"] for t, r in per_thread.items()}}
    return device_row(fam.name, "keras", result, top, top["backend"], params=fam.params,
                      **_accuracy(fam, fam.keras_probs))


def dataset_drift(fam: Family) -> str | None:
    """A warning when Keras scores differently here than when it was trained: the data changed since.

    Same model, same clips, same split must give the same accuracy (up to a
    clip that float noise flips); anything more means the test split is not
    the one the model was held out from, and every accuracy in the table is
    off.
    """
    recorded = fam.md.metrics.get("test_accuracy")
    if recorded is None or fam.keras_probs is None:
        return None
    now = _accuracy(fam, fam.keras_probs)["test_accuracy"]
    if abs(now - recorded) * len(fam.test_y) <= 1.5:
        return None
    return (f"{fam.name}: Keras scores {now:.3f} on the test split here but {recorded:.3f} when it was trained, so "
            f"the data in {fam.md.config.get('data')} changed since training; retrain, or point --data at the "
            "data it was trained on")


def _accuracy(fam: Family | None, probs) -> dict:
    if fam is None or probs is None:
        return {}
    m = compare(np.asarray(probs, np.float32), fam.keras_probs, fam.test_y, fam.md.labels)
    return {"test_accuracy": m["test_accuracy"], "macro_f1": m["macro_f1"],
            "agreement_with_keras": m.get("agreement_with_keras"),
            "accuracy_source": f"held-out test split of {fam.origin} ({len(fam.test_y)} clips)"}


# --------------------------------------------------------------------------- the run


def run_bench(models: Path, out: Path, threads: tuple[int, ...] = (1, 2), data: Path | None = None,
              bundles: list[Path] = (), tflite_runtime: Path | None = None, samples: int = 200,
              rounds: int = 7, per_round: int = 8, passes: int = 2, video_seconds: float = 8.0,
              video: Path | None = None,
              log: Callable[[str], None] = log.info) -> dict:
    """Benchmark every variant of the models under ``models``; writes bench.json, bench.md, pareto.png to ``out``."""
    has_models = any((Path(models) / f / "model.keras").is_file() for f in FAMILIES)
    origins = find_models(Path(models)) if has_models or not bundles else []  # bundles alone are enough
    for bundle in bundles:
        load_bundle(bundle)  # a bad --bundle fails now, not after the conversions
    if video is not None:
        info = video_info(Path(video)) if Path(video).is_file() else None
        if not info or not info["fps"] or info["fps"] <= 0 or info["size"] in ("0x0", "-1x-1"):
            raise ValueError(f"--video {video}: no such file, or not a video OpenCV can read")
    tflrt, skip_reason = tflite_runtime_python(tflite_runtime)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="har-bench-"))
    try:
        video = Path(video) if video else write_test_video(out / GENERATED_VIDEO, video_seconds)
        mds = [snapshot(md, work, data) for md in origins]
        splits = [_splits(md, o.path) for md, o in zip(mds, origins, strict=True)]  # read before the slow part
        families = [prepare_family(md, o.path, s, work, samples, log) for md, o, s in zip(mds, origins, splits,
                                                                                          strict=True)]
        variants = variants_for(families, list(bundles))
        warnings = [w for w in map(dataset_drift, families) if w]
        for w in warnings:
            log(f"warning: {w}")
        timing = {"rounds": rounds, "per_round": per_round, "warmup": 3, "passes": passes}
        if families:
            log(f"Keras: timing {len(families)} model(s) in TensorFlow, one process per thread count")
        rows = [run_keras(f, threads, video, work, timing) for f in families]
        backends: dict[str, dict] = {}
        measured: dict[str, tuple[dict, dict]] = {}
        missing = {"tflite-runtime": ("skipped", skip_reason)} if skip_reason else {}
        for label, python in (("ai-edge-litert", sys.executable), ("tflite-runtime", tflrt)):
            if python is None:
                continue
            log(f"{label}: timing {len(variants)} variants side by side, then peak memory one process each")
            try:
                m = measure_in_child(python, [v for v, *_ in variants], threads, video, work, **timing)
                memory = {v.name: memory_in_child(python, v, max(threads), video, work) for v, *_ in variants}
            except BenchError as e:
                if label == "ai-edge-litert":
                    raise
                missing[label] = ("error", str(e))
                continue
            backends[label] = {"environment": m["environment"], "decode_fps": m["decode_fps"]}
            measured[label] = (m, memory)
        rows = _sorted_rows(rows + _tflite_rows(families, variants, measured, missing))
        from har.edge.enroll.bench import enroll_timings

        enrolment = enroll_timings(bundles)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": backends["ai-edge-litert"]["environment"], "backends": backends, "threads": list(threads),
        "video": video_info(video),
        "method": {**timing, "steady_windows": STEADY_WINDOWS, "calibration_samples": samples,
                   "memory": f"one process per variant at {max(threads)} thread(s)"},
        "models": {f.name: {"model_dir": str(f.origin), "params": f.params, "test_clips": int(len(f.test_y)),
                            "test_groups": (f.md.metrics.get("split_groups") or {}).get("test"),
                            "recorded_test_accuracy": f.md.metrics.get("test_accuracy"),
                            "export_errors": f.errors} for f in families},
        "warnings": warnings,
        "rows": rows,
        "enrolment": enrolment,
    }
    write_outputs(report, out)
    return report


def _splits(md: ModelDir, origin: Path):
    try:
        return load_splits(md, test=True)
    except ExportError as e:  # name the user's model directory, not the private copy
        raise ExportError(str(e).replace(str(md.path), str(origin))) from None


def _tflite_rows(families, variants, measured: dict, missing: dict[str, tuple[str, str]]) -> list[dict]:
    """One row per (variant, backend), measured, or marked skipped/error with the reason."""
    rows = []
    for fam in families:
        for q, why in fam.errors.items():
            rows.append(device_row(fam.name, q, None, None, "-", params=fam.params, status="error",
                                   error=f"did not export: {why}"))
    for v, fam, model, label in variants:
        for backend in ("ai-edge-litert", "tflite-runtime"):
            if backend not in measured:
                status, why = missing[backend]
                rows.append(device_row(model, label, None, None, backend, params=fam.params if fam else None,
                                       status=status, error=why))
                continue
            m, memory = measured[backend]
            result = m["variants"][v.name]
            accuracy = _accuracy(fam, result.get("probs")) or report_accuracy(Path(v.bundle)).get(label, {})
            rows.append(device_row(model, label, result, memory[v.name], m["environment"]["runtime"],
                                   params=fam.params if fam else None, **accuracy))
    return rows


def _sorted_rows(rows: list[dict]) -> list[dict]:
    """By model (the deployed bundle last), then variant in table order; backends keep their order."""
    order = {name: i for i, name in enumerate(["keras", *WINDOW_QUANTS, *(f"streaming-{q}" for q in STREAMING_QUANTS)])}
    return sorted(rows, key=lambda r: (r["model"].startswith("bundle"), r["model"], order.get(r["variant"], 99)))


# --------------------------------------------------------------------------- outputs


def write_outputs(report: dict, out: Path) -> tuple[Path, Path, Path]:
    """``bench.json``, ``bench.md`` and ``pareto.png`` in ``out``."""
    j, md, png = out / "bench.json", out / "bench.md", out / "pareto.png"
    j.write_text(json.dumps(report, indent=2) + "\n")
    md.write_text(render_markdown(report))
    plot_pareto(report, png)
    return j, md, png


def render_markdown(report: dict) -> str:
    m, threads = report["machine"], report["threads"]
    timing, v = report["method"], report["video"]
    keras = sorted({r["backend"] for r in report["rows"] if r["variant"] == "keras"})
    libs = "; ".join(f"{e['environment']['runtime']} with numpy {e['environment']['numpy']}, OpenCV "
                     f"{e['environment']['opencv']}, Python {e['environment']['python']}"
                     for e in report["backends"].values())
    lines = [
        "# Benchmark: accuracy against latency for every variant", "",
        f"Run {report['created_at']} on {m['cpu']} ({m['usable_cpus']} usable of {m['cpus']} CPUs, "
        f"{m['system']}, {m['machine']}; 1-minute load average {m['load_average_1m']} at the end of the "
        f"ai-edge-litert timing, this run included). Backends: {libs}."
        + (f" Keras: {', '.join(keras)}." if keras else ""), "",
        *(f"**Warning: {w}.**\n" for w in report["warnings"]),
        "Test accuracy and macro-F1: each model's own held-out, group-disjoint test split"
        + (" (" + ", ".join(f"{k} from {v['model_dir']}: {v['test_clips']} clips" for k, v in report["models"].items())
           + ")" if report["models"] else "") + ", classified by each backend itself (a pose bundle: its export "
        "report's held-out windows).",
        f"Latency: p50 / p95 ms after {timing['warmup']} warm-up calls, {timing['rounds']} interleaved rounds x "
        f"{timing['per_round']} calls, every TFLite variant and thread count side by side in one process per "
        "backend; Keras in one TensorFlow process per thread count (graph mode). *Per window*: one window "
        "classified from scratch. *Per new frame*: the cost of one more sampled frame at stride 1, which for a "
        "whole-window model is the whole window again (the same number) and for streaming is one encoder call "
        "plus the head on cached features.",
        "Pipeline: the edge pipeline (decode, sample at the model's interval, resize, window, classify, smooth) "
        f"at stride 1 over {v['file']} ({v['size']}, {v['fps']:g} fps), frames/s from the first classified window "
        f"through the next {timing['steady_windows']}, median of {timing['passes']} interleaved passes; x real time = "
        f"frames/s / {v['fps']:g}. "
        "Decoding "
        "alone: " + ", ".join(f"{k} {v['decode_fps']:.0f} fps" for k, v in report["backends"].items()) + ".",
        f"Peak RSS: {timing['memory']}, loading the model and running the pipeline over the file; in brackets "
        "how much that added to the peak of the same process after its imports (Python, numpy, OpenCV and the "
        "runtime; for Keras, TensorFlow).", "",
        *table_lines(report["rows"], threads), "",
    ]
    notes = note_lines(report["rows"])
    if notes:
        lines += ["## Rows without numbers", "", *notes, ""]
    if pose := pose_lines(report["rows"]):
        lines += ["## Pose bundle: where a new frame's time goes", "", *pose, ""]
        if report["video"]["file"] == GENERATED_VIDEO:
            lines += ["(On the generated clip nobody is found, so the detector runs on every frame: pass a video "
                      "with a person to `--video` for the tracking rate a camera sees.)", ""]
    from har.edge.enroll.bench import enroll_lines

    if enrolled := enroll_lines(report.get("enrolment") or []):
        lines += ["## Enrolled labels (`har-edge enroll`): what they add per window", "", *enrolled, "",
                  "Timed side by side in one process; 5 labels of 5 examples; docs/enroll.md.", ""]
    lines += _backend_section(report)
    lines += ["", "![accuracy against latency](pareto.png)", ""]
    return "\n".join(lines)


def _backend_section(report: dict) -> list[str]:
    """Latency ratio tflite-runtime / ai-edge-litert per variant, with the ops each left off XNNPACK."""
    t = str(report["threads"][0])
    by = {}
    for r in report["rows"]:
        if r["status"] == "ok" and r["variant"] != "keras":
            by.setdefault((r["model"], r["variant"]), {})[r["backend"].split()[0]] = r
    lines = ["## Backends side by side", "",
             f"| model | variant | tflite-runtime / ai-edge-litert, ms per window @{t}t | "
             "ops outside XNNPACK (ai-edge-litert) | ops outside XNNPACK (tflite-runtime) |",
             "|---|---|---:|---|---|"]
    for (model, variant), pair in by.items():
        a, b = pair.get("ai-edge-litert"), pair.get("tflite-runtime")
        if not (a and b):
            continue
        ratio = b["latency_window_ms"][t]["p50"] / a["latency_window_ms"][t]["p50"]
        lines.append(f"| {model} | {variant} | {ratio:.2f} | {', '.join(a['cpu_ops'] or []) or 'none'} | "
                     f"{', '.join(b['cpu_ops'] or []) or 'none'} |")
    return lines if len(lines) > 4 else lines[:2] + ["Only one backend was measured."]


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats on both (lower x, higher y), sorted by x."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best = [], -np.inf
    for i in order:
        if points[i][1] > best:
            front.append(i)
            best = points[i][1]
    return front


def _label_offsets(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Label offsets (points) that stack the labels of nearby points above and below them.

    Quantization rarely changes accuracy, so many points share a height and
    sit close on the log axis; their labels would print over each other.
    """
    span = (max(y for _, y in pts) - min(y for _, y in pts)) or 1.0 if pts else 1.0
    placed: list[tuple[float, float, int]] = []
    out: list[tuple[float, float]] = [(0.0, 0.0)] * len(pts)
    for i in sorted(range(len(pts)), key=lambda i: pts[i][0]):
        lx, y = float(np.log10(pts[i][0])), pts[i][1]
        busy = {lvl for px, py, lvl in placed if lx - px < 0.45 and abs(py - y) < 0.04 * span}
        level = next(k for k in range(len(pts) + 1) if k not in busy)
        placed.append((lx, y, level))
        out[i] = (6.0, (1 if level % 2 == 0 else -1) * (8.0 + 10.0 * (level // 2)))
    return out


def plot_pareto(report: dict, path: Path) -> Path:
    """Test accuracy against ms per new frame at the first thread count (log x), Pareto front marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = str(report["threads"][0])
    rows = [r for r in report["rows"] if r["status"] == "ok" and r["test_accuracy"] is not None
            and r["latency_frame_ms"] and t in r["latency_frame_ms"]]
    pts = [(r["latency_frame_ms"][t]["p50"], r["test_accuracy"]) for r in rows]
    fig, ax = plt.subplots(figsize=(11, 6.5), dpi=110)
    backends = sorted({r["backend"] for r in rows})
    markers = dict(zip(backends, "osD^v<>", strict=False))
    colors = {m: f"C{i}" for i, m in enumerate(sorted({r["model"] for r in rows}))}
    offsets = _label_offsets(pts)
    for r, (x, y), (dx, dy) in zip(rows, pts, offsets, strict=True):
        ax.scatter(x, y, marker=markers.get(r["backend"], "x"), s=45, color=colors[r["model"]], zorder=3)
        ax.annotate(r["variant"], (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=7,
                    va="center", color=colors[r["model"]], arrowprops={"arrowstyle": "-", "lw": 0.4, "alpha": 0.5})
    front = pareto_front(pts)
    if front:
        ax.step([pts[i][0] for i in front], [pts[i][1] for i in front], where="post", color="black", lw=1, ls="--",
                label="Pareto front")
        ax.scatter([pts[i][0] for i in front], [pts[i][1] for i in front], s=160, facecolors="none",
                   edgecolors="black")
    for b in backends:
        ax.scatter([], [], marker=markers.get(b, "x"), color="grey", label=b)
    for m, c in colors.items():
        ax.scatter([], [], marker="s", color=c, label=m)
    ax.set_xscale("log")
    ax.set_xlabel(f"ms per classification at stride 1 (per new frame), p50, {t} thread(s), log scale")
    ax.set_ylabel("test accuracy (held-out groups)")
    ax.set_title(f"Accuracy against latency ({report['machine']['cpu']}, {report['created_at'][:10]})")
    ax.grid(True, which="both", alpha=0.3)
    ax.margins(x=0.08, y=0.25)  # room for the stacked labels
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), title="colour: model, marker: runtime",
              title_fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Keras child: ``python -m har.export.bench SPEC.json OUT.json`` (run by :func:`run_keras`)."""
    spec_path, out = (sys.argv[1:] if argv is None else argv)[:2]
    Path(out).write_text(json.dumps(keras_child(json.loads(Path(spec_path).read_text()))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
