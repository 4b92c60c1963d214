"""The parity check ``har export`` leaves in a bundle: its own models against Keras, on held-out data.

A bundle is worth copying to a device only if its files classify like the
Keras model they came from. So after writing the bundle, ``har export`` runs
the bundle's models as the device does (``WindowClassifier`` and
``StreamingClassifier``, or the pose head on keypoint features) over the model
folder's held-out, group-disjoint test split, and records per model: test
accuracy, macro-F1, top-1 agreement with Keras, the largest absolute
difference of any class probability, agreement of the streaming pair with the
whole-window model, file sizes and the ops an int8 graph still runs in float.

What the other quantization modes would give and what every variant costs in
time and memory is ``har bench``'s job (all variants side by side in one run,
:mod:`har.export.bench`); this check times nothing. ``har-edge bench`` reads
the rows' ``test_accuracy`` from ``report.json`` (:func:`har.edge.bench.report_accuracy`),
so the row names are the variant names it uses: ``keras``, the bundle's
quantization, ``streaming-<quantization>``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from har.edge.bundle import load_bundle
from har.edge.interpreter import StreamingClassifier, TfliteModel, WindowClassifier, backend_name
from har.export.bundle import float_ops
from har.export.worker import Conversion
from har.models.folder import ModelFolder
from har.models.metrics import compare

NOTE = "latency, memory and the other quantization modes: `har bench` (docs/benchmark.md)"


def check_bundle(md: ModelFolder, bundle_dir: str | Path, conv: Conversion, test_x: np.ndarray,
                 test_y: np.ndarray) -> dict:
    """Score the bundle's own models and Keras (``conv.keras_probs``, on ``test_x``) on the test split."""
    b = load_bundle(bundle_dir)
    keras, n, q = conv.keras_probs, len(test_y), b.quantization
    rows = [{"name": "keras", "kind": "keras", "files": ["model.keras"],
             "bytes": (md.path / "model.keras").stat().st_size, **compare(keras, keras, test_y, md.labels)}]
    if b.is_pose:
        head = TfliteModel(b.model_file("head"))
        rows.append(_row(b, q, "head", ("head",), _stack([head.run(x) for x in test_x], n, md), keras, test_y))
    else:
        window = _stack([WindowClassifier(b).classify(c) for c in test_x], n, md)
        rows.append(_row(b, q, "window", ("window",), window, keras, test_y))
        if b.has_streaming:
            s = StreamingClassifier(b)  # one frame at a time, the head on the window's features, as the device
            probs = _stack([s.classify(np.stack([s.encode(f) for f in c])) for c in test_x], n, md)
            row = _row(b, f"streaming-{q}", "streaming", ("encoder", "head"), probs, keras, test_y)
            row["agreement_with_window"] = float((probs.argmax(-1) == window.argmax(-1)).mean()) if n else None
            rows.append(row)
    return {
        "kind": "parity", "model": md.family, "encoder": "pose" if b.is_pose else "pixels", "model_dir": str(md.path),
        "bundle_quantization": q, "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "test_split": {"samples": int(n), "unit": "windows of keypoint features" if b.is_pose else "clips",
                       "groups": (md.metrics.get("split_groups") or {}).get("test")},
        "calibration": conv.calibration or None, "runtime": backend_name(), "converter": conv.versions,
        "variants": rows, "note": NOTE,
    }


def _stack(probs: list[np.ndarray], n: int, md: ModelFolder) -> np.ndarray:
    return np.stack(probs) if n else np.zeros((0, len(md.labels)), np.float32)


def _row(b, name: str, kind: str, graphs: tuple[str, ...], probs: np.ndarray, keras, y) -> dict:
    """One checked model of the bundle: its files, sizes, scores against Keras and float ops of int8 graphs."""
    infos = [b.models[g] for g in graphs]
    int8 = [g for g, m in zip(graphs, infos, strict=True) if m.quantization == "int8"]
    return {"name": name, "kind": kind, "files": [m.file for m in infos], "bytes": sum(m.bytes for m in infos),
            "quantization": {g: m.quantization for g, m in zip(graphs, infos, strict=True)},
            **compare(probs, keras, y, b.labels),
            "float_ops": sorted({op for g in int8 for op in float_ops(b.model_file(g))}) if int8 else None}


def write_report(report: dict, bundle_dir: str | Path) -> tuple[Path, Path]:
    """``report.json`` and ``report.md`` into the bundle (neither is needed on the device)."""
    j, m = Path(bundle_dir) / "report.json", Path(bundle_dir) / "report.md"
    j.write_text(json.dumps(report, indent=2) + "\n")
    m.write_text(render_markdown(report))
    return j, m


def summary_lines(report: dict) -> list[str]:
    """One line per checked model, for the CLI."""
    split = report["test_split"]
    out = []
    for r in report["variants"]:
        what = f"{r['name']} ({' + '.join(r['files'])}, {r['bytes'] / 1024:.1f} KiB)"
        if r["test_accuracy"] is None:
            out.append(f"{what}: no held-out test {split['unit']} to check on")
            continue
        text = (f"{what}: test accuracy {r['test_accuracy']:.3f}, macro-F1 {r['macro_f1']:.3f} on "
                f"{split['samples']} held-out {split['unit']}")
        if r["kind"] != "keras":
            text += f"; agrees with Keras {r['agreement_with_keras']:.3f}, max |diff| {r['max_abs_diff']:.4f}"
        if r.get("agreement_with_window") is not None:
            text += f"; agrees with the window model {r['agreement_with_window']:.3f}"
        if r.get("float_ops") is not None:
            text += f"; float ops in int8: {', '.join(r['float_ops']) or 'none'}"
        out.append(text)
    return out


def render_markdown(report: dict) -> str:
    split, cal = report["test_split"], report["calibration"] or {}
    lines = [
        f"# Parity check: {report['model']} ({report['encoder']}, {report['model_dir']})", "",
        f"Bundle quantization **{report['bundle_quantization']}**, checked {report['created_at']} with "
        f"{report['runtime']} (converter TensorFlow {report['converter'].get('tensorflow', '?')}) on "
        f"{split['samples']} held-out {split['unit']} (test groups "
        f"{', '.join(split['groups'] or []) or 'n/a'})"
        + (f"; int8 calibrated on {cal['clips']} samples of the {cal['split']} split." if cal else "."), "",
        "| model | file(s) | KiB | test acc | macro-F1 | agree w/ Keras | max abs diff | agree w/ window | "
        "float ops in int8 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in report["variants"]:
        fops = "-" if r.get("float_ops") is None else (", ".join(r["float_ops"]) or "none")
        lines.append(f"| {r['name']} | {', '.join(r['files'])} | {r['bytes'] / 1024:.1f} | "
                     f"{_num(r['test_accuracy'])} | {_num(r['macro_f1'])} | {_num(r.get('agreement_with_keras'))} | "
                     f"{_num(r.get('max_abs_diff'), 4)} | {_num(r.get('agreement_with_window'))} | {fops} |")
    if any(r["kind"] == "streaming" and r["quantization"] == {"encoder": "int8", "head": "fp32"}
           for r in report["variants"]):
        lines += ["", "The streaming head of an int8 bundle is fp32 by choice: LiteRT's integer LSTM kernel is ~10x "
                  "slower than its float one, and the head stays on the CPU even with an Edge TPU."]
    return "\n".join(lines + ["", f"Not here: {report['note']}.", ""])


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"
