"""``har bench``'s orchestration: convert, measure every backend side by side, write the outputs."""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from har.edge.bench import STEADY_WINDOWS, BenchError, measure_in_child, memory_in_child, write_test_video
from har.edge.bundle import load_bundle
from har.export.bench.backends import (
    GENERATED_VIDEO,
    sorted_rows,
    tflite_rows,
    tflite_runtime_python,
    variants_for,
    video_info,
)
from har.export.bench.families import (
    FAMILIES,
    dataset_drift,
    find_models,
    load_test_split,
    prepare_family,
    snapshot,
)
from har.export.bench.goals import goals
from har.export.bench.keras import run_keras
from har.export.bench.render import write_outputs
from har.export.errors import ExportError

log = logging.getLogger(__name__)


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
            raise ExportError(f"--video {video}: no such file, or not a video OpenCV can read")
    tflrt, skip_reason = tflite_runtime_python(tflite_runtime)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="har-bench-"))
    try:
        video = Path(video) if video else write_test_video(out / GENERATED_VIDEO, video_seconds)
        mds = [snapshot(md, work, data) for md in origins]
        splits = [load_test_split(md, o.path) for md, o in zip(mds, origins, strict=True)]  # read before the slow part
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
                memory = {v.name: memory_in_child(python, v, max(threads), video, work) for v, *_ in variants
                          if not m["variants"][v.name]["error"]}  # a refused variant's row has its error already
            except BenchError as e:
                if label == "ai-edge-litert":
                    raise
                missing[label] = ("error", str(e))
                continue
            backends[label] = {"environment": m["environment"], "decode_fps": m["decode_fps"]}
            measured[label] = (m, memory)
        rows = sorted_rows(rows + tflite_rows(families, variants, measured, missing))
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
        "goals": goals(rows, [f.name for f in families]),
        "enrolment": enrolment,
    }
    write_outputs(report, out)
    return report
