"""``bench.md``, ``bench.json`` and ``pareto.png`` from a bench report."""

from __future__ import annotations

import json
from pathlib import Path

from har.edge.bench import note_lines, pose_lines, table_lines
from har.export.bench.backends import GENERATED_VIDEO
from har.export.bench.goals import comparison_lines, goal_lines
from har.export.bench.pareto import plot_pareto


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
    for section in (comparison_lines(report), goal_lines(report)):
        lines += [*section, ""] if section else []
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
