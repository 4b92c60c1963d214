"""The soak's verdict: the summary figures, the plot, and what counts as a failure under ``--check``.

Growth is judged after the warm-up only (the first minutes load the model
and fill caches); an event is lost when it was written to JSON lines but
never reached the subscriber.
"""

from __future__ import annotations

from pathlib import Path


def delivery(sent: list[str], received: list[str]) -> tuple[list[str], bool]:
    """(event ids sent but never received, whether the received ones came in the order sent)."""
    lost = sorted(set(sent) - set(received))
    expected_order = [e for e in sent if e in set(received)]
    order_ok = [e for e in received if e in set(sent)] == expected_order
    return lost, order_ok


def summarize(rows: list[dict], warmup: float, *, rc: int, crashed_early: bool, log: str, broker_restarts: int,
              sent: list[str], received: list[str], duplicates: int, lost: list[str], pending: int,
              order_ok: bool) -> dict:
    """The figures of ``summary.json``: RSS, threads and open files after the warm-up only."""
    after = [r for r in rows if r["t_s"] >= warmup]
    return {
        "minutes": round((rows[-1]["t_s"] if rows else 0) / 60, 1),
        "exit_code": rc,
        "exited_before_sigterm": crashed_early,
        "tracebacks": log.count("Traceback"),
        "fatal": log.count("FATAL"),
        "broker_restarts": broker_restarts,
        "events_sent": len(sent),
        "events_received": len(received),
        "duplicates_received": duplicates,
        "events_lost": len(lost) - max(pending, 0) if lost else 0,
        "left_in_outbox": pending,
        "order_ok": order_ok,
        "warmup_s": warmup,
        "rss_mb_start": round(after[0]["rss_kb"] / 1024, 2) if after else None,
        "rss_mb_end": round(after[-1]["rss_kb"] / 1024, 2) if after else None,
        "rss_mb_max": round(max(r["rss_kb"] for r in after) / 1024, 2) if after else None,
        "rss_slope_mb_per_h": round(slope_per_hour([r["t_s"] for r in after], [r["rss_kb"] / 1024 for r in after]), 3),
        "threads_start_end": [after[0]["threads"], after[-1]["threads"]] if after else None,
        "threads_max": max(r["threads"] for r in after) if after else None,
        "fds_start_end": [after[0]["open_fds"], after[-1]["open_fds"]] if after else None,
        "fds_max": max(r["open_fds"] for r in after) if after else None,
        "outbox_rows_max": max(r["outbox_rows"] for r in rows) if rows else None,
        "outbox_bytes_max": max(r["outbox_bytes"] for r in rows) if rows else None,
        "frames": rows[-1]["frames"] if rows else None,
    }


def problems(summary: dict, rows: list[dict], lost: list[str], max_rss_growth_mb: float) -> list[str]:
    """What ``--check`` fails on: a crash, a traceback, a lost or reordered event, growth after the warm-up."""
    rc, crashed_early, pending = summary["exit_code"], summary["exited_before_sigterm"], summary["left_in_outbox"]
    after = [r for r in rows if r["t_s"] >= summary["warmup_s"]]
    problems = []
    if rc != 0 or crashed_early:
        problems.append(f"har-edge exited with {rc}{' before SIGTERM' if crashed_early else ''}")
    if summary["tracebacks"] or summary["fatal"]:
        problems.append("har-edge logged a traceback or FATAL")
    if lost:
        problems.append(f"{len(lost)} events written to JSON lines never reached the subscriber "
                        f"({pending} left in the outbox)")
    if not summary["order_ok"]:
        problems.append("events reached the subscriber out of order")
    if not summary["events_sent"]:
        problems.append("no events were produced")
    if after:
        growth = (after[-1]["rss_kb"] - min(r["rss_kb"] for r in after)) / 1024
        if growth > max_rss_growth_mb:
            problems.append(f"RSS grew {growth:.1f} MB after warm-up (bound {max_rss_growth_mb} MB)")
        if after[-1]["threads"] > after[0]["threads"] + 2:
            problems.append(f"threads grew from {after[0]['threads']} to {after[-1]['threads']}")
        if after[-1]["open_fds"] > after[0]["open_fds"] + 4:
            problems.append(f"open files grew from {after[0]['open_fds']} to {after[-1]['open_fds']}")
    return problems


def slope_per_hour(ts: list[float], ys: list[float]) -> float:
    import numpy as np

    if len(ts) < 3:
        return 0.0
    return float(np.polyfit(np.asarray(ts) / 3600.0, np.asarray(ys, float), 1)[0])


def plot(rows: list[dict], restarts: list[float], warmup_s: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r["t_s"] > 0]  # the first sample is taken while the process starts
    t = [r["t_s"] / 60 for r in rows]
    fig, ax = plt.subplots(2, 2, figsize=(10, 6), sharex=True)
    panels = [(ax[0, 0], [("rss_kb", "RSS (MB)", 1 / 1024)]),
              (ax[0, 1], [("threads", "threads", 1), ("open_fds", "open files", 1)]),
              (ax[1, 0], [("outbox_rows", "outbox rows", 1)]),
              (ax[1, 1], [("events_sent", "events sent", 1), ("events_received", "received", 1)])]
    for a, series in panels:
        for key, label, k in series:
            a.plot(t, [r[key] * k for r in rows], label=label, lw=1)
        for x in restarts:
            a.axvline(x / 60, color="grey", lw=0.4, alpha=0.5)
        a.axvspan(0, warmup_s / 60, color="orange", alpha=0.08)
        a.legend(loc="upper left", fontsize=8)
        a.grid(alpha=0.3)
    settled = [r["rss_kb"] / 1024 for r in rows if r["t_s"] >= warmup_s] or [r["rss_kb"] / 1024 for r in rows]
    ax[0, 0].set_ylim(min(settled) - 2, max(settled) + 2)  # growth, not the start-up, is the question
    for a in ax[1]:
        a.set_xlabel("minutes (grey: broker restarts, shaded: warm-up)")
    fig.suptitle("har-edge soak")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
