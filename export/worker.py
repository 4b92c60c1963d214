"""The conversion worker seen from the parent: which graphs to convert, running the worker, its results.

The parent process never imports TensorFlow: graphs are built and converted
by :mod:`har.export.convert_worker` in a subprocess (a converter crash becomes
a clear error), and everything after conversion uses the same LiteRT
interpreter the device uses. Which graphs a family has comes from its
registry entry (:class:`har.models.registry.ExportSpec`).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.export.errors import ExportError
from har.models.folder import ModelFolder
from har.models.registry import get_entry

#: The streaming head of an int8 bundle stays float: LiteRT's integer LSTM kernel ran the head ~10x slower
#: than the float one (0.19 vs 0.017 ms on x86), the head runs on the CPU even with an Edge TPU, and its
#: fp32 file is 54 KB. Every other mode quantizes the head like the rest.
HEAD_QUANT = {"int8": "fp32"}


def graph_quant(graph: str, quant: str) -> str:
    """The quantization a graph gets in a bundle of mode ``quant``."""
    return HEAD_QUANT.get(quant, quant) if graph == "head" else quant


def graphs_of(md: ModelFolder) -> tuple[str, ...]:
    """The graphs a bundle of ``md``'s family holds (its registry entry's ``ExportSpec``)."""
    return get_entry(md.family).export.graphs


@dataclass
class Conversion:
    """What one worker run produced."""

    files: dict[tuple[str, str], Path] = field(default_factory=dict)  # (graph, quant) -> .tflite
    seconds: dict[str, float] = field(default_factory=dict)
    keras_probs: np.ndarray | None = None
    versions: dict[str, str] = field(default_factory=dict)
    calibration: dict = field(default_factory=dict)


def _events_so_far(progress: Path) -> list[dict]:
    """The complete lines of a progress file still being written."""
    out = []
    for line in progress.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except ValueError:
            break  # the line being written
    return out


def _wait_with_bar(proc: subprocess.Popen, progress: Path, targets: int, timeout_s: float) -> int:
    """Wait for the worker; on a terminal, a bar of converted targets read from its progress file."""
    from har.edge.progress import steps

    deadline = time.monotonic() + timeout_s
    shown = 0
    with steps("converting", targets or None, enabled=True) as advance:
        while True:
            try:
                rc = proc.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                rc = None
            if targets and progress.exists():
                done = [e["target"] for e in _events_so_far(progress) if e.get("event") == "done"]
                if len(done) > shown:
                    advance(len(done) - shown, done[-1])
                    shown = len(done)
            if rc is not None:
                return rc
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(proc.args, timeout_s)


def run_worker(spec: dict, work_dir: Path, timeout_s: float = 3600) -> list[dict]:
    """Run the conversion worker on ``spec``; returns its events or raises :class:`ExportError`."""
    work_dir.mkdir(parents=True, exist_ok=True)
    tag = f"{len(list(work_dir.glob('spec-*.json')))}"
    spec = dict(spec, progress=str(work_dir / f"progress-{tag}.jsonl"))
    spec_path = work_dir / f"spec-{tag}.json"
    spec_path.write_text(json.dumps(spec))
    log_path = work_dir / f"worker-{tag}.log"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", ABSL_MIN_LOG_LEVEL="2")
    progress = Path(spec["progress"])
    from har.edge.progress import wanted

    cmd = [sys.executable, "-m", "har.export.convert_worker", str(spec_path)]
    with open(log_path, "w") as out:
        try:
            if wanted():  # a terminal: a bar of converted targets while the worker runs
                proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
                try:
                    rc = _wait_with_bar(proc, progress, len(spec.get("targets", [])), timeout_s)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise
            else:
                rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            raise ExportError(f"the conversion worker did not finish in {timeout_s:.0f} s; see {log_path}") from None
    events = [json.loads(line) for line in progress.read_text().splitlines()] if progress.exists() else []
    errors = [e for e in events if e.get("event") == "error"]
    if errors:
        where = f" (traceback in {log_path})" if errors[0].get("traceback") else ""
        raise ExportError(errors[0]["message"] + where)
    if rc != 0:
        started = [e["target"] for e in events if e.get("event") == "start"]
        doing = f"while converting {started[-1]}" if started else "before converting anything"
        why = f"was killed by {signal.Signals(-rc).name}" if rc < 0 else f"exited with code {rc}"
        raise ExportError(f"the TFLite conversion worker {why} {doing}; see {log_path}")
    return events


def convert_models(md: ModelFolder, work_dir: Path, targets: list[tuple[str, str]], *,
                   calibration: np.ndarray | None = None, evaluate: np.ndarray | None = None) -> Conversion:
    """Convert ``(graph, quant)`` targets of ``md`` in one worker run (plus Keras evaluation, if asked)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    spec: dict = {"model_dir": str(md.path), "family": md.family, "num_classes": len(md.labels),
                  "seq_len": md.seq_len, "size": md.size, "normalization": md.normalization, "targets": []}
    conv = Conversion()
    for graph, quant in targets:
        path = work_dir / f"{graph}-{quant}.tflite"
        spec["targets"].append({"graph": graph, "quant": quant, "path": str(path)})
        conv.files[(graph, quant)] = path
    if calibration is not None:
        np.savez(work_dir / "calibration.npz", clips=calibration)
        spec["calibration"] = str(work_dir / "calibration.npz")
        conv.calibration = {"split": "train", "clips": int(len(calibration)), "seed": md.seed}
    if evaluate is not None:
        np.savez(work_dir / "test.npz", clips=evaluate)
        spec["evaluate"] = {"clips": str(work_dir / "test.npz"), "probs_out": str(work_dir / "keras_probs.npy")}
    events = run_worker(spec, work_dir)
    for e in events:
        if e["event"] == "done":
            conv.seconds[e["target"]] = e["seconds"]
        elif e["event"] == "loaded":
            conv.versions = {"tensorflow": e["tensorflow"], "keras": e["keras"]}
    if evaluate is not None:
        conv.keras_probs = np.load(work_dir / "keras_probs.npy")
    return conv


def targets_for(md: ModelFolder, quants: list[str], streaming_quants: list[str] | None = None) -> list[tuple[str, str]]:
    """``(graph, quant)`` pairs: the window in every mode of ``quants``, the streaming pair in ``streaming_quants``."""
    streaming_quants = quants if streaming_quants is None else streaming_quants
    out = [("window", q) for q in quants]
    for q in streaming_quants:
        out += [(g, graph_quant(g, q)) for g in graphs_of(md) if g != "window"]
    return list(dict.fromkeys(out))


def bundle_files(md: ModelFolder, conv: Conversion, quant: str) -> dict[str, Path]:
    """Graph name -> converted file for a bundle of mode ``quant``."""
    return {g: conv.files[(g, graph_quant(g, quant))] for g in graphs_of(md)}
