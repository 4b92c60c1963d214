"""The benchmark table: one row schema and one Markdown table for ``har bench`` and ``har-edge bench``.

Measuring returns plain results (:mod:`har.edge.bench.measure`,
:mod:`har.edge.bench.memory`); a row is where a result meets what the caller
knows besides (accuracy on a test split, parameters), so both commands print
the same columns.
"""

from __future__ import annotations

from collections.abc import Iterable

#: Every field of a table row, in output order (``har bench`` rows add accuracy and parity with Keras and, for
#: streaming, with the whole-window model; the device takes them from the bundle's report.json or leaves None).
ROW_FIELDS = ("model", "variant", "backend", "status", "error", "params", "files", "bytes", "test_accuracy",
              "macro_f1", "agreement_with_keras", "max_abs_diff", "agreement_with_window", "accuracy_source",
              "latency_window_ms", "latency_frame_ms",
              "throughput", "peak_rss_mib", "baseline_rss_mib", "cpu_ops", "pose")


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
