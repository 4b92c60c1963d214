"""Soak test: does ``har-edge run`` leak, and does it lose events across broker restarts?

Runs the real CLI on a looping real-time video with every sink on (MQTT with
its SQLite outbox, JSON lines, the annotated video, the Prometheus endpoint),
stops and restarts a private mosquitto every ``--restart-every`` seconds, and
every ``--sample-every`` seconds records the process's RSS, threads, open
files and the outbox size into ``samples.csv``. At the end it stops har-edge
with SIGTERM, compares the events it wrote to JSON lines with those a
subscriber received over MQTT, and writes ``summary.json`` and ``soak.png``.

    python tools/soak.py --minutes 120 --out /tmp/soak            # the long run
    python tools/soak.py --minutes 2.5 --out /tmp/soak --check    # CI: exit 1 on a loss or growth

Without ``--bundle``/``--video`` it builds the colour test bundle and a video
of coloured segments (needs TensorFlow, so run it on the workstation): every
loop of the video starts and ends two actions, so lost events are countable.
Everything listens on 127.0.0.1 only. The broker and subscriber are in
``soak_broker.py``, what is measured in ``soak_probes.py``, the summary,
plot and ``--check`` verdict in ``soak_report.py`` (next to this script,
which it imports from its own folder).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from soak_broker import Broker, Subscriber, free_port
from soak_probes import JsonlTail, outbox_stats, proc_stats, scrape_frames
from soak_report import delivery, plot, summarize
from soak_report import problems as report_problems

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "soak"
FIELDS = ["t_s", "rss_kb", "threads", "open_fds", "outbox_rows", "outbox_bytes", "events_sent",
          "events_received", "frames", "broker_up", "broker_restarts"]


def make_inputs(out: Path, bundle: Path | None, video: Path | None) -> tuple[Path, Path]:
    """The colour bundle and a 320x240, 20 fps video whose every loop starts and ends red and green."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from tests.edge.colour import COLOURS, FPS
    from tests.helpers import write_video

    if bundle is None:
        from tests.edge.colour import build_colour_bundle

        bundle = out / "bundle"
        if not (bundle / "metadata.json").exists():
            bundle.mkdir(parents=True, exist_ok=True)
            build_colour_bundle(bundle)
    if video is None:
        video = out / "scenario.mp4"
    if not video.exists():
        rng = np.random.default_rng(0)
        frames = []
        for name, seconds in [("idle", 3), ("red", 4), ("idle", 3), ("green", 4)]:
            for _ in range(round(seconds * FPS)):
                f = np.full((240, 320, 3), COLOURS[name], np.int16) + rng.integers(-8, 9, (240, 320, 3))
                frames.append(np.clip(f, 0, 255).astype(np.uint8))
        write_video(video, frames, FPS)
    return bundle, video


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=120.0, help="how long har-edge runs")
    ap.add_argument("--out", type=Path, required=True, help="folder for the CSV, plot, logs and inputs")
    ap.add_argument("--bundle", type=Path, help="bundle directory (default: build the colour test bundle)")
    ap.add_argument("--video", type=Path, help="video to loop (default: a generated coloured scenario)")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--restart-every", type=float, default=180.0, help="seconds between broker restarts")
    ap.add_argument("--down-for", type=float, default=15.0, help="seconds the broker stays down each time")
    ap.add_argument("--warmup", type=float, default=None, help="seconds ignored for growth (default 10%%, >=60)")
    ap.add_argument("--segment-s", type=float, default=600.0, help="annotated video segment length (0: one file)")
    ap.add_argument("--check", action="store_true", help="exit 1 on a lost event, a crash, or growth above bounds")
    ap.add_argument("--max-rss-growth-mb", type=float, default=8.0, help="--check bound on RSS growth after warm-up")
    ap.add_argument("--har-edge", default=str(Path(sys.executable).with_name("har-edge")), help="the CLI to run")
    a = ap.parse_args(argv)

    out = a.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    bundle, video = (a.bundle, a.video) if a.bundle and a.video else make_inputs(out, a.bundle, a.video)
    duration = a.minutes * 60
    warmup = a.warmup if a.warmup is not None else max(60.0, 0.1 * duration)

    broker = Broker(out / "broker")
    broker.start()
    sub = Subscriber(broker.port, f"har/{DEVICE}/events")
    outbox = out / "outbox.sqlite3"
    jsonl = out / "events.jsonl"
    for p in (outbox, Path(f"{outbox}-wal"), Path(f"{outbox}-shm"), jsonl, *out.glob("events.jsonl.*")):
        p.unlink(missing_ok=True)
    metrics_port = free_port()
    (out / "edge.toml").write_text(
        f'[mqtt]\ndevice_id = "{DEVICE}"\noutbox_path = "{outbox}"\nreconnect_min_delay_s = 0.5\n'
        f'reconnect_max_delay_s = 4.0\ndiscovery = true\n\n[metrics]\ninterval_s = 300.0\n\n'
        f'[sinks]\noutput_segment_s = {a.segment_s}\n\n'
        f'[smoother]\nbackground_labels = ["idle"]\nmin_duration_s = 0.5\nstate_interval_s = 5.0\n')
    cmd = [a.har_edge, "run", "--config", str(out / "edge.toml"), "--bundle", str(bundle), "--source", str(video),
           "--loop", "--realtime", "--mqtt", "--jsonl", str(jsonl), "--output", str(out / "annotated.mp4"),
           "--metrics-port", str(metrics_port), "--no-console"]
    env = {**os.environ, "HAR_MQTT_HOST": "127.0.0.1", "HAR_MQTT_PORT": str(broker.port)}
    stderr = open(out / "har-edge.log", "wb")  # noqa: SIM115 - the child writes it until the end
    edge = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    print(f"soak: pid {edge.pid}, {a.minutes:g} min, samples -> {out / 'samples.csv'}", flush=True)

    rows: list[dict] = []
    restarts: list[float] = []
    tail = JsonlTail(jsonl)
    t0 = time.monotonic()
    next_sample = 0.0
    next_restart = a.restart_every
    down_until = None
    with open(out / "samples.csv", "w", newline="") as fcsv:
        w = csv.DictWriter(fcsv, FIELDS)
        w.writeheader()
        while (now := time.monotonic() - t0) < duration and edge.poll() is None:
            if down_until is None and now >= next_restart and now + a.down_for + 30 < duration:
                broker.stop()
                down_until = now + a.down_for
                restarts.append(now)
            elif down_until is not None and now >= down_until:
                broker.start()
                broker.restarts += 1
                down_until = None
                next_restart = now + a.restart_every
            if now >= next_sample:
                try:
                    rss, threads, fds = proc_stats(edge.pid)
                except OSError:
                    break
                rows_n, size = outbox_stats(outbox)
                row = dict(t_s=round(now, 1), rss_kb=rss, threads=threads, open_fds=fds, outbox_rows=rows_n,
                           outbox_bytes=size, events_sent=len(tail.ids()), events_received=sub.count(),
                           frames=scrape_frames(metrics_port), broker_up=int(broker.up),
                           broker_restarts=broker.restarts)
                rows.append(row)
                w.writerow(row)
                fcsv.flush()
                next_sample += a.sample_every
            time.sleep(0.2)
        if not broker.up:
            broker.start()
            broker.restarts += 1
        # Let the outbox drain with the broker up, then stop har-edge as systemd would.
        deadline = time.monotonic() + 60
        while edge.poll() is None and time.monotonic() < deadline and outbox_stats(outbox)[0] != 0:
            time.sleep(0.5)
        crashed_early = edge.poll() is not None
        edge.send_signal(signal.SIGTERM)
        try:
            rc = edge.wait(30)
        except subprocess.TimeoutExpired:
            edge.kill()
            rc = edge.wait()
    stderr.close()
    sent = tail.ids()
    deadline = time.monotonic() + 30
    pending, _ = outbox_stats(outbox)
    while time.monotonic() < deadline and sub.count() < len(set(sent)) - max(pending, 0):
        time.sleep(0.2)
    sub.close()
    broker.stop()

    with sub.lock:
        received = list(sub.order)
    lost, order_ok = delivery(sent, received)
    log = (out / "har-edge.log").read_text(errors="replace")
    summary = summarize(rows, warmup, rc=rc, crashed_early=crashed_early, log=log, broker_restarts=broker.restarts,
                        sent=sent, received=received, duplicates=sub.duplicates, lost=lost, pending=pending,
                        order_ok=order_ok)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if rows:
        plot(rows, restarts, warmup, out / "soak.png")
    print(json.dumps(summary, indent=2))

    if not a.check:
        return 0
    problems = report_problems(summary, rows, lost, a.max_rss_growth_mb)
    for p in problems:
        print(f"soak: FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
