"""Accuracy against latency: the Pareto front of a bench run, and its plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np


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
