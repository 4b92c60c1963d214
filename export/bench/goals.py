"""Every variant of a model against its Keras model and its fp32 variant, and the export goals, from bench rows.

Why from the rows and nowhere else: they are the one place where every
variant was scored on the same held-out test split and timed side by side in
one process, so a ratio between two of them is fair on a shared machine.
Ratios use the ai-edge-litert rows (the runtime the device installs) and
Keras's own TensorFlow row; goals are reported, never asserted.
"""

from __future__ import annotations

import numpy as np

#: The export's targets: key -> (what, comparison, target).
GOALS = {
    "int8_size_ratio": ("int8 model size / fp32 model size", "<=", 0.35),
    "int8_accuracy_drop_pp": ("Keras test accuracy - int8 test accuracy (percentage points)", "<=", 1.0),
    "int8_fp32_latency_ratio_1t": ("int8 / fp32 latency per window at 1 thread", "<=", 1.0),
    "streaming_frame_window_ratio_1t": ("int8 streaming cost per new frame / int8 whole-window latency, 1 thread",
                                        "<=", 1 / 50),
    "streaming_agreement": ("streaming int8 top-1 agreement with the int8 whole-window model", ">=", 0.99),
}
BASIS = "ai-edge-litert"


def window_agreement(results: dict, name: str) -> float | None:
    """Top-1 agreement of streaming variant ``name`` with the whole-window variant of its mode, on the test split.

    ``results`` are one backend's measured variants by name, with the
    probabilities each gave on the test clips.
    """
    if "/streaming-" not in name:
        return None
    stream, window = results.get(name) or {}, results.get(name.replace("/streaming-", "/", 1)) or {}
    a, b = stream.get("probs"), window.get("probs")
    if a is None or b is None or not len(a) or len(a) != len(b):
        return None
    return float((np.argmax(a, -1) == np.argmax(b, -1)).mean())


def by_variant(rows: list[dict], model: str) -> dict[str, dict]:
    """``model``'s measured rows by variant: Keras's, and the others on :data:`BASIS`."""
    return {r["variant"]: r for r in rows if r["model"] == model and r["status"] == "ok"
            and (r["variant"] == "keras" or r["backend"].startswith(BASIS))}


def model_goals(rows: list[dict], model: str) -> dict[str, dict]:
    """:data:`GOALS` for ``model``, each with its value (None where a row it needs is missing) and whether met."""
    by = by_variant(rows, model)
    fp32, int8, keras, stream = (by.get(k) for k in ("fp32", "int8", "keras", "streaming-int8"))
    values: dict[str, float | None] = dict.fromkeys(GOALS)
    if fp32 and int8:
        values["int8_size_ratio"] = int8["bytes"] / fp32["bytes"]
        values["int8_fp32_latency_ratio_1t"] = _ratio(_p50(int8, "latency_window_ms"), _p50(fp32, "latency_window_ms"))
    if keras and int8 and keras["test_accuracy"] is not None and int8["test_accuracy"] is not None:
        values["int8_accuracy_drop_pp"] = 100 * (keras["test_accuracy"] - int8["test_accuracy"])
    if stream and int8:
        values["streaming_frame_window_ratio_1t"] = _ratio(_p50(stream, "latency_frame_ms"),
                                                           _p50(int8, "latency_window_ms"))
        values["streaming_agreement"] = stream["agreement_with_window"]
    out = {}
    for key, (text, op, target) in GOALS.items():
        v = values[key]
        met = None if v is None else (v <= target if op == "<=" else v >= target)
        out[key] = {"description": text, "value": None if v is None else round(v, 4), "target": f"{op} {target:g}",
                    "met": met}
    return out


def goals(rows: list[dict], models: list[str]) -> dict[str, dict]:
    """Model name -> :func:`model_goals`, for each model family the run converted."""
    return {m: model_goals(rows, m) for m in models}


def _p50(row: dict, key: str, threads: str = "1") -> float | None:
    return ((row.get(key) or {}).get(threads) or {}).get("p50")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def goal_lines(report: dict) -> list[str]:
    """``bench.md``'s goals table: one column per model."""
    models = list(report.get("goals") or {})
    if not models:
        return []
    lines = ["## Export goals (measured, not asserted)", "",
             f"From the rows above: {BASIS} at 1 thread, p50; Keras from its TensorFlow row; n/a where a row is "
             "missing (a model without a streaming pair, a variant that did not export, no 1-thread run).", "",
             "| goal | target | " + " | ".join(models) + " |", "|---|---|" + "---:|" * len(models)]
    for key, (text, op, target) in GOALS.items():
        cells = [_cell(report["goals"][m][key]) for m in models]
        lines.append(f"| {text} | {op} {target:g} | " + " | ".join(cells) + " |")
    return lines


def comparison_lines(report: dict) -> list[str]:
    """``bench.md``'s per-model comparison: each TFLite variant against Keras and against fp32."""
    t = str(report["threads"][0])
    lines = ["## Every variant against its Keras model and its fp32 variant", "",
             f"{BASIS} rows; accuracy difference and agreement on the same held-out test clips; time per new frame "
             f"at {t} thread(s), p50, over fp32's.", "",
             "| model | variant | x fp32 size | test acc - Keras (pp) | agree w/ Keras | max abs diff | "
             "agree w/ window | x fp32 time |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for model in report["models"]:
        by = by_variant(report["rows"], model)
        keras, fp32 = by.get("keras"), by.get("fp32")
        for variant, r in by.items():
            if variant == "keras":
                continue
            size = f"{r['bytes'] / fp32['bytes']:.2f}" if fp32 else "-"
            drop = (f"{100 * (r['test_accuracy'] - keras['test_accuracy']):+.1f}"
                    if keras and keras["test_accuracy"] is not None and r["test_accuracy"] is not None else "-")
            time = _ratio(_p50(r, "latency_frame_ms", t), _p50(fp32, "latency_frame_ms", t)) if fp32 else None
            lines.append(f"| {model} | {variant} | {size} | {drop} | {_num(r['agreement_with_keras'])} | "
                         f"{_num(r['max_abs_diff'], 4)} | {_num(r['agreement_with_window'])} | {_num(time, 2)} |")
    return lines if len(lines) > 5 else []


def _cell(g: dict) -> str:
    if g["value"] is None:
        return "n/a"
    return f"{g['value']:.4g} ({'met' if g['met'] else '**not met**'})"


def _num(v, digits: int = 3) -> str:
    return "-" if v is None else f"{v:.{digits}f}"
