"""The one child-process protocol: ``python -m har.edge.bench measure|memory ...``.

Why children: another venv means another interpreter backend (tflite-runtime
beside ai-edge-litert), and one process's peak memory cannot be split
between the models it loaded. ``har bench`` and ``har-edge bench`` both
start them through :func:`run_child`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
from dataclasses import asdict
from pathlib import Path

from har.edge.bench.measure import measure
from har.edge.bench.memory import _memory_here
from har.edge.bench.plan import BenchError, Variant


def run_child(python: str | Path, args: list[str], out: Path, timeout_s: float = 1800) -> dict:
    """Run ``python -m har.edge.bench ARGS OUT`` and return the JSON it wrote; :class:`BenchError` if it failed."""
    cmd = [str(python), "-m", "har.edge.bench", *args, str(out)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise BenchError(f"the benchmark child {python} did not finish in {timeout_s:.0f} s") from None
    if res.returncode != 0 or not out.is_file():
        last = (res.stderr.strip().splitlines() or [f"exit code {res.returncode}"])[-1]
        raise BenchError(f"the benchmark child {python} failed: {last}")
    return json.loads(out.read_text())


def memory_in_child(python: str | Path, variant: Variant, threads: int, video: str | Path, work: Path) -> dict:
    """Peak memory of ``variant`` in its own process of ``python``."""
    out = work / f"memory-{len(list(work.glob('memory-*.json')))}.json"
    return run_child(python, ["memory", variant.bundle, variant.mode, str(threads), str(video)], out)


def measure_in_child(python: str | Path, variants: list[Variant], threads: tuple[int, ...], video: str | Path,
                     work: Path, **timing) -> dict:
    """:func:`measure` in a process of ``python`` (another venv means another interpreter backend)."""
    tag = len(list(work.glob("plan-*.json")))
    plan = work / f"plan-{tag}.json"
    plan.write_text(json.dumps({"variants": [asdict(v) for v in variants], "threads": list(threads),
                                "video": str(video), "timing": timing}))
    return run_child(python, ["measure", str(plan)], work / f"measured-{tag}.json")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m har.edge.bench",
                                description="Benchmark child of `har bench` / `har-edge bench` (not for direct use).")
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("measure", help="time every variant of a plan side by side")
    m.add_argument("plan")
    m.add_argument("out")
    k = sub.add_parser("memory", help="peak memory of one variant in this fresh process")
    for name in ("bundle", "mode", "threads", "video", "out"):
        k.add_argument(name, type=int if name == "threads" else str)
    a = p.parse_args(argv)
    if a.cmd == "measure":
        plan = json.loads(Path(a.plan).read_text())
        result = measure([Variant(**v) for v in plan["variants"]], tuple(plan["threads"]), plan["video"],
                         **plan.get("timing", {}))
    else:
        result = _memory_here(Variant("memory", a.bundle, a.mode), a.threads, a.video)
    Path(a.out).write_text(json.dumps(result))
    return 0


