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
Everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import pwd
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "soak"
FIELDS = ["t_s", "rss_kb", "threads", "open_fds", "outbox_rows", "outbox_bytes", "events_sent",
          "events_received", "frames", "broker_up", "broker_restarts"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Broker:
    """A private mosquitto with persistence, so the subscriber's session survives restarts."""

    def __init__(self, workdir: Path):
        exe = shutil.which("mosquitto") or next(
            (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.access(p, os.X_OK)), None)
        if exe is None:
            sys.exit("soak: mosquitto is not installed (apt-get install mosquitto)")
        self.exe = exe
        self.port = free_port()
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text("\n".join([
            f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence true",
            f"persistence_location {workdir}/", f"user {pwd.getpwuid(os.geteuid()).pw_name}",
            "max_queued_messages 0", "log_dest stderr", "log_type error", "log_type warning"]) + "\n")
        self.proc: subprocess.Popen | None = None
        self.restarts = 0

    def start(self) -> None:
        with open(self.workdir / "mosquitto.log", "ab") as log:
            self.proc = subprocess.Popen([self.exe, "-c", str(self.conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not _accepts(self.port):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                sys.exit(f"soak: mosquitto did not start; see {self.workdir / 'mosquitto.log'}")
            time.sleep(0.05)

    def stop(self) -> None:
        """SIGTERM: mosquitto saves its persistence file (queued messages for the subscriber)."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    @property
    def up(self) -> bool:
        return self.proc is not None


class Subscriber:
    """A persistent-session QoS 1 subscriber to the events topic: records first arrivals in order."""

    def __init__(self, port: int):
        import paho.mqtt.client as mqtt

        self.lock = threading.Lock()
        self.order: list[str] = []  # event_ids, first arrival only
        self.seen: set[str] = set()
        self.duplicates = 0
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="har-soak-subscriber", clean_session=False)
        c.reconnect_delay_set(0.2, 2.0)
        c.on_connect = lambda cl, u, f, rc, p: cl.subscribe(f"har/{DEVICE}/events", qos=1)
        c.on_message = self._on_message
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()
        self.client = c

    def _on_message(self, client, userdata, msg) -> None:
        try:
            eid = json.loads(msg.payload)["event_id"]
        except (ValueError, KeyError):
            return
        with self.lock:
            if eid in self.seen:
                self.duplicates += 1
            else:
                self.seen.add(eid)
                self.order.append(eid)

    def count(self) -> int:
        with self.lock:
            return len(self.order)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class JsonlTail:
    """Event ids (not state) in the JSON-lines file and its rotations, in the order written."""

    def __init__(self, path: Path):
        self.path = path

    def ids(self) -> list[str]:
        files = sorted(self.path.parent.glob(self.path.name + ".*"), key=lambda p: -int(p.suffix[1:]))
        out = []
        for p in [*files, self.path]:
            if not p.exists():
                continue
            for line in p.read_bytes().splitlines():
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("kind") != "state":
                    out.append(ev["event_id"])
        return out


def proc_stats(pid: int) -> tuple[int, int, int]:
    """(RSS in kB, threads, open file descriptors) from /proc."""
    rss = threads = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                threads = int(line.split()[1])
    return rss, threads, len(os.listdir(f"/proc/{pid}/fd"))


def outbox_stats(path: Path) -> tuple[int, int]:
    size = sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    if not path.exists():
        return 0, size
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=2.0) as db:
            return db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0], size
    except sqlite3.Error:
        return -1, size


def scrape_frames(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("har_edge_frames "):
                    return int(float(line.split()[1]))
    except OSError:
        pass
    return -1


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
    sub = Subscriber(broker.port)
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
    lost = sorted(set(sent) - set(received))
    expected_order = [e for e in sent if e in set(received)]
    order_ok = [e for e in received if e in set(sent)] == expected_order
    log = (out / "har-edge.log").read_text(errors="replace")
    after = [r for r in rows if r["t_s"] >= warmup]
    summary = {
        "minutes": round((rows[-1]["t_s"] if rows else 0) / 60, 1),
        "exit_code": rc,
        "exited_before_sigterm": crashed_early,
        "tracebacks": log.count("Traceback"),
        "fatal": log.count("FATAL"),
        "broker_restarts": broker.restarts,
        "events_sent": len(sent),
        "events_received": len(received),
        "duplicates_received": sub.duplicates,
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
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    if rows:
        plot(rows, restarts, warmup, out / "soak.png")
    print(json.dumps(summary, indent=2))

    if not a.check:
        return 0
    problems = []
    if rc != 0 or crashed_early:
        problems.append(f"har-edge exited with {rc}{' before SIGTERM' if crashed_early else ''}")
    if summary["tracebacks"] or summary["fatal"]:
        problems.append("har-edge logged a traceback or FATAL")
    if lost:
        problems.append(f"{len(lost)} events written to JSON lines never reached the subscriber "
                        f"({pending} left in the outbox)")
    if not order_ok:
        problems.append("events reached the subscriber out of order")
    if not sent:
        problems.append("no events were produced")
    if after:
        growth = (after[-1]["rss_kb"] - min(r["rss_kb"] for r in after)) / 1024
        if growth > a.max_rss_growth_mb:
            problems.append(f"RSS grew {growth:.1f} MB after warm-up (bound {a.max_rss_growth_mb} MB)")
        if after[-1]["threads"] > after[0]["threads"] + 2:
            problems.append(f"threads grew from {after[0]['threads']} to {after[-1]['threads']}")
        if after[-1]["open_fds"] > after[0]["open_fds"] + 4:
            problems.append(f"open files grew from {after[0]['open_fds']} to {after[-1]['open_fds']}")
    for p in problems:
        print(f"soak: FAIL: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
