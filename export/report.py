"""What quantization costs and gains, measured on the held-out test split.

For Keras and every TFLite variant (fp32, dynamic, fp16, int8 and the
streaming encoder + head pairs) the report gives file size, test accuracy,
macro-F1, top-1 agreement with Keras, the largest absolute difference of any
class probability, the ops in the graph, and latency at each thread count.

Latency is measured side by side in one process: every (variant, threads)
pair runs a few invokes per round, round after round, and the median is kept,
so a slow moment of the machine hits all variants alike. It times
``TfliteModel.run`` from uint8 frames to float probabilities: the cost the
device pays, input quantization included. The Keras figures come from the
conversion worker (TensorFlow in graph mode), one process per thread count.

Streaming latency is per *new frame*: encode that frame, then run the head
on the cached features of the window.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from har.edge.bench import time_interleaved
from har.edge.interpreter import TfliteModel, backend_name
from har.export.bundle import assemble_bundle, check_out_dir, float_ops, pixel_embedding_section
from har.export.checks import check_quant, load_model_dir
from har.export.data import calibration_clips, load_splits
from har.export.tflite import export_all_variants
from har.export.worker import Conversion, bundle_files, graph_quant
from har.models.folder import ModelFolder
from har.models.metrics import compare

log = logging.getLogger(__name__)

GOALS = {
    "int8_size_ratio": ("int8 model size / fp32 model size", "<=", 0.35),
    "int8_accuracy_drop_pp": ("Keras test accuracy - int8 test accuracy (percentage points)", "<=", 1.0),
    "int8_fp32_latency_ratio_1t": ("int8 / fp32 latency per window at 1 thread", "<=", 1.0),
    "streaming_frame_window_ratio_1t": ("int8 streaming cost per new frame / int8 whole-window latency, 1 thread",
                                        "<=", 1 / 50),
    "streaming_agreement": ("streaming int8 top-1 agreement with the int8 whole-window model", ">=", 0.99),
}


def export_with_report(model_dir: str | Path, out_dir: str | Path, quant: str = "int8",
                       representative_samples: int = 200, threads: tuple[int, ...] = (1, 2),
                       log: Callable[[str], None] = log.info) -> tuple[Path, dict]:
    """Export the bundle and write ``report.json`` / ``report.md`` into it, in one conversion run."""
    md = load_model_dir(model_dir)
    check_quant(quant)
    check_out_dir(out_dir)
    train_x, test = load_splits(md, test=True)
    work = Path(tempfile.mkdtemp(prefix="har-export-"))
    conv = export_all_variants(md.path, work, representative_samples, test_x=test[0], train_x=train_x,
                               keras_latency_threads=threads, streaming_quants=("fp32", "int8", quant), log=log)
    files = bundle_files(md, conv, quant)
    embedding = pixel_embedding_section(md, files, calibration_clips(md, train_x, representative_samples))
    path = assemble_bundle(md, Path(out_dir), quant, files, conv, embedding)
    log(f"evaluating {len(conv.files)} TFLite models on {len(test[1])} test clips and timing them")
    report = build_report(md, conv, test, quant, threads)
    write_report(report, path)
    shutil.rmtree(work, ignore_errors=True)
    return path, report


def predict_window(model: TfliteModel, clips: np.ndarray) -> np.ndarray:
    return np.stack([model.run(c) for c in clips]) if len(clips) else np.zeros((0, model.output.shape[-1]), np.float32)


def encode_clips(encoder: TfliteModel, clips: np.ndarray) -> np.ndarray:
    """Per-frame features of every clip, as the device computes them one frame at a time."""
    return np.stack([np.stack([encoder.run(f) for f in c]) for c in clips])


def predict_streaming(encoder: TfliteModel, head: TfliteModel, clips: np.ndarray) -> np.ndarray:
    if not len(clips):
        return np.zeros((0, head.output.shape[-1]), np.float32)
    return np.stack([head.run(f) for f in encode_clips(encoder, clips)])


def measure_latency(runners: dict[str, Callable[[], object]], rounds: int = 7, per_round: int = 15,
                    warmup: int = 3) -> dict[str, float]:
    """Median ms per call of each runner, interleaved round by round (see :func:`time_interleaved`)."""
    return {k: v["p50"] for k, v in time_interleaved(runners, rounds, per_round, warmup).items()}


def build_report(md: ModelFolder, conv: Conversion, test: tuple[np.ndarray, np.ndarray], bundle_quant: str,
                 threads: tuple[int, ...] = (1, 2), rounds: int = 7, per_round: int = 15) -> dict:
    """Evaluate and time every converted variant in ``conv`` against Keras on ``test``."""
    x, y = test
    keras = conv.keras_probs
    quants = [q for q in ("fp32", "dynamic", "fp16", "int8") if ("window", q) in conv.files]
    rows = [{
        "name": "keras", "kind": "keras", "files": ["model.keras"],
        "bytes": (md.path / "model.keras").stat().st_size,
        **(compare(keras, keras, y, md.labels) if keras is not None else {}),
        "ops": None, "float_ops": None,
        "latency_ms": {str(t): conv.keras_latency_ms.get(t) for t in threads},
    }]
    window_probs: dict[str, np.ndarray] = {}
    for q in quants:
        path = conv.files[("window", q)]
        model = TfliteModel(path, normalization=md.normalization)
        window_probs[q] = predict_window(model, x)
        rows.append(_tflite_row(q, "window", {"window": (path, q)}, window_probs[q], keras, y, md.labels))
    for q in quants:
        if ("encoder", q) not in conv.files:
            continue
        parts = {g: (conv.files[(g, graph_quant(g, q))], graph_quant(g, q)) for g in ("encoder", "head")}
        probs = predict_streaming(TfliteModel(parts["encoder"][0], normalization=md.normalization),
                                  TfliteModel(parts["head"][0]), x)
        row = _tflite_row(f"streaming-{q}", "streaming", parts, probs, keras, y, md.labels)
        if q in window_probs and len(y):
            row["agreement_with_window"] = float((probs.argmax(-1) == window_probs[q].argmax(-1)).mean())
        rows.append(row)
    _time_rows(rows, conv, x, md, threads, rounds, per_round)
    report = {
        "model_dir": str(md.path), "model": md.family, "bundle_quantization": bundle_quant,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "test_split": {"clips": int(len(y)), "groups": (md.metrics.get("split_groups") or {}).get("test")},
        "calibration": conv.calibration,
        "runtime": backend_name(), "converter": conv.versions,
        "machine": {"system": platform.system(), "machine": platform.machine(), "cpus": os.cpu_count(),
                    "processor": _cpu_name()},
        "threads": list(threads),
        "latency_method": (f"median of {rounds} interleaved rounds x {per_round} calls of TfliteModel.run "
                           "(uint8 frames in, float probabilities out); streaming rows: one new frame "
                           "(encoder at N threads) + head (1 thread, as StreamingClassifier runs it)"),
        "variants": rows,
    }
    report["goals"] = goals(report)
    return report


def _tflite_row(name: str, kind: str, parts: dict[str, tuple[Path, str]], probs, keras, y, labels) -> dict:
    """One report row; ``parts`` maps graph name -> (file, its quantization)."""
    paths = [p for p, _ in parts.values()]
    int8 = [p for p, q in parts.values() if q == "int8"]
    return {"name": name, "kind": kind, "files": [p.name for p in paths],
            "quantization": {g: q for g, (_, q) in parts.items()},
            "bytes": sum(p.stat().st_size for p in paths), **compare(probs, keras, y, labels),
            "ops": dict(Counter(op for p in paths for op in TfliteModel(p).ops())),
            "float_ops": sorted({op for p in int8 for op in float_ops(p)}) if int8 else None}


def _time_rows(rows: list[dict], conv: Conversion, x: np.ndarray, md: ModelFolder, threads, rounds, per_round) -> None:
    clip = x[0] if len(x) else np.zeros((md.seq_len, md.size, md.size, 3), np.uint8)
    runners: dict[str, Callable[[], object]] = {}
    for row in rows:
        if row["kind"] == "window":
            for t in threads:
                model = TfliteModel(conv.files[("window", row["name"])], threads=t, normalization=md.normalization)
                runners[f"{row['name']}|{t}"] = lambda m=model: m.run(clip)
        elif row["kind"] == "streaming":
            q = row["name"].removeprefix("streaming-")
            for t in threads:
                enc = TfliteModel(conv.files[("encoder", q)], threads=t, normalization=md.normalization)
                head = TfliteModel(conv.files[("head", graph_quant("head", q))], threads=1)  # as StreamingClassifier
                feats = encode_clips(enc, clip[None])[0]
                runners[f"{row['name']}|{t}|enc"] = lambda m=enc: m.run(clip[-1])
                runners[f"{row['name']}|{t}|head"] = lambda m=head, f=feats: m.run(f)
    ms = measure_latency(runners, rounds, per_round)
    for row in rows:
        if row["kind"] == "window":
            row["latency_ms"] = {str(t): ms[f"{row['name']}|{t}"] for t in threads}
        elif row["kind"] == "streaming":
            enc = {str(t): ms[f"{row['name']}|{t}|enc"] for t in threads}
            head = {str(t): ms[f"{row['name']}|{t}|head"] for t in threads}
            row["encoder_ms"], row["head_ms"] = enc, head
            row["latency_ms"] = {t: round(enc[t] + head[t], 4) for t in enc}  # per new frame


def goals(report: dict) -> dict:
    """The issue's targets, computed from the report (reported, never asserted)."""
    rows = {r["name"]: r for r in report["variants"]}
    values: dict[str, float | None] = dict.fromkeys(GOALS)
    fp32, int8, keras, stream = rows.get("fp32"), rows.get("int8"), rows.get("keras"), rows.get("streaming-int8")
    t1 = str(report["threads"][0])
    if fp32 and int8:
        values["int8_size_ratio"] = int8["bytes"] / fp32["bytes"]
        values["int8_fp32_latency_ratio_1t"] = int8["latency_ms"][t1] / fp32["latency_ms"][t1]
    if keras and int8 and keras.get("test_accuracy") is not None:
        values["int8_accuracy_drop_pp"] = 100 * (keras["test_accuracy"] - int8["test_accuracy"])
    if stream and int8:
        values["streaming_frame_window_ratio_1t"] = stream["latency_ms"][t1] / int8["latency_ms"][t1]
        values["streaming_agreement"] = stream.get("agreement_with_window")
    out = {}
    for key, (text, op, target) in GOALS.items():
        v = values[key]
        met = None if v is None else (v <= target if op == "<=" else v >= target)
        out[key] = {"description": text, "value": None if v is None else round(v, 4), "target": f"{op} {target:g}",
                    "met": met}
    return out


def write_report(report: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``report.json`` and ``report.md`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    j, m = out_dir / "report.json", out_dir / "report.md"
    j.write_text(json.dumps(report, indent=2) + "\n")
    m.write_text(render_markdown(report))
    return j, m


def render_markdown(report: dict) -> str:
    threads = [str(t) for t in report["threads"]]
    fp32 = next((r for r in report["variants"] if r["name"] == "fp32"), None)
    lines = [
        f"# Export report: {report['model']} ({report['model_dir']})",
        "",
        f"Bundle quantization **{report['bundle_quantization']}**; test split: {report['test_split']['clips']} clips "
        f"(groups {', '.join(report['test_split']['groups'] or []) or 'n/a'}); calibration: "
        f"{report['calibration'].get('clips', 0)} clips of the {report['calibration'].get('split', '?')} split.",
        f"Runtime {report['runtime']}; converter TensorFlow {report['converter'].get('tensorflow', '?')}; "
        f"{report['machine']['processor']} ({report['machine']['cpus']} CPUs).",
        f"Latency: {report['latency_method']}. Keras latency: TensorFlow graph mode, one process per thread count.",
        "",
        "| variant | file(s) | KiB | x fp32 | test acc | macro-F1 | agree w/ Keras | max abs diff | "
        + " | ".join(f"ms @{t} thr" for t in threads) + " | ops |",
        "|---|---|---:|---:|---:|---:|---:|---:|" + "---:|" * len(threads) + "---|",
    ]
    for r in report["variants"]:
        ratio = f"{r['bytes'] / fp32['bytes']:.2f}" if fp32 and r["kind"] != "keras" else ""
        lat = " | ".join(_num(r["latency_ms"].get(t), 3) for t in threads)
        ops = ", ".join(f"{k} x{v}" if v > 1 else k for k, v in (r["ops"] or {}).items()) or "-"
        lines.append(f"| {r['name']} | {', '.join(r['files'])} | {r['bytes'] / 1024:.1f} | {ratio} | "
                     f"{_num(r.get('test_accuracy'))} | {_num(r.get('macro_f1'))} | "
                     f"{_num(r.get('agreement_with_keras'))} | {_num(r.get('max_abs_diff'), 4)} | {lat} | {ops} |")
    lines += ["", "Streaming rows time one new frame: the encoder on that frame plus the head on the cached window."]
    for r in report["variants"]:
        if r["kind"] == "streaming":
            q = r["quantization"]
            lines.append(f"- {r['name']} (encoder {q['encoder']}, head {q['head']}): encoder {_ms(r['encoder_ms'])}, "
                         f"head {_ms(r['head_ms'])}; top-1 agreement with the whole-window model "
                         f"{_num(r.get('agreement_with_window'))}.")
    lines += ["", "## Ops left in float by int8 quantization", "",
              "(The streaming head of an int8 bundle is fp32 by choice, not listed: LiteRT's integer LSTM kernel "
              "is ~10x slower than its float one, and the head stays on the CPU even with an Edge TPU.)", ""]
    for r in report["variants"]:
        if r["float_ops"] is not None:
            lines.append(f"- {r['name']}: " + (", ".join(r["float_ops"]) if r["float_ops"] else
                                               "none: every op runs on integer tensors"))
    lines += ["", "## Goals (measured, not asserted)", "", "| goal | value | target | met |", "|---|---:|---|---|"]
    for g in report["goals"].values():
        met = {True: "yes", False: "**no**", None: "n/a"}[g["met"]]
        lines.append(f"| {g['description']} | {_num(g['value'], 4)} | {g['target']} | {met} |")
    return "\n".join(lines) + "\n"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _ms(d: dict) -> str:
    return ", ".join(f"{v:.3f} ms @{t}" for t, v in d.items())


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
