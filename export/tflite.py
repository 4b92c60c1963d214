"""Turn a trained model directory into a bundle, and into the variants the report compares.

The parent process never imports TensorFlow: graphs are built and converted
by :mod:`har.export.convert_worker` in a subprocess (a converter crash becomes
a clear error), and everything after conversion (tensor specs, op lists,
hashes, evaluation) uses the same LiteRT interpreter the device uses.

int8 is full-integer post-training quantization calibrated on clips of the
model's **training** split, drawn with the training seed; the test split is
only ever used by the report, to measure.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.edge.bundle import (
    MODEL_FILES,
    QUANT_MODES,
    BundleError,
    build_metadata,
    load_bundle,
    model_entry,
    write_metadata,
)
from har.edge.errors import HarError
from har.edge.interpreter import TfliteModel, graph_ops

log = logging.getLogger(__name__)

#: Graphs each model family exports: LRCN also gets the streaming pair.
#: The pose head (``har train --encoder pose``) exports its head only; see har.export.pose.
#: Every ``head`` has the window embedding as its second output (har.export.head_embedding).
FAMILY_GRAPHS = {"lrcn": ("window", "encoder", "head"), "convlstm": ("window",), "pose_lstm": ("head",)}
#: The streaming head of an int8 bundle stays float: LiteRT's integer LSTM kernel ran the head ~10x slower
#: than the float one (0.19 vs 0.017 ms on x86), the head runs on the CPU even with an Edge TPU, and its
#: fp32 file is 54 KB. Every other mode quantizes the head like the rest.
HEAD_QUANT = {"int8": "fp32"}


def graph_quant(graph: str, quant: str) -> str:
    """The quantization a graph gets in a bundle of mode ``quant``."""
    return HEAD_QUANT.get(quant, quant) if graph == "head" else quant
FLOAT_DTYPES = ("float32", "float16")


class ExportError(HarError, ValueError):
    """An export that cannot be done; the message is one sentence saying why."""


@dataclass
class ModelDir:
    """A trained model directory (``artifacts/<model>``) as export needs it."""

    path: Path
    family: str
    labels: list[str]
    config: dict
    metrics: dict

    @property
    def sampling(self) -> dict:
        return self.config.get("sampling") or {}

    @property
    def normalization(self) -> str:
        return self.config.get("normalization", "scale_0_1")

    @property
    def seq_len(self) -> int:
        return int(self.sampling.get("seq_len", 20))

    @property
    def size(self) -> int:
        return int(self.sampling.get("size", 64))

    @property
    def graphs(self) -> tuple[str, ...]:
        return FAMILY_GRAPHS[self.family]


def load_model_dir(path: str | Path) -> ModelDir:
    """Read ``model.keras``'s companions; :class:`ExportError` if something is missing."""
    path = Path(path)
    if not path.is_dir():
        raise ExportError(f"model directory {path} does not exist; train one first with `har train --model lrcn`")
    for name in ("model.keras", "labels.json", "config.json"):
        if not (path / name).is_file():
            raise ExportError(f"{path} has no {name}; train a model first with `har train --model lrcn`")
    config = json.loads((path / "config.json").read_text())
    family = config.get("model")
    if family not in FAMILY_GRAPHS:
        raise ExportError(f"{path} holds a {family!r} model, which has no TFLite export (known: "
                          f"{', '.join(FAMILY_GRAPHS)})")
    metrics_file = path / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    return ModelDir(path, family, json.loads((path / "labels.json").read_text()), config, metrics)


def check_quant(quant: str) -> str:
    if quant not in QUANT_MODES:
        import difflib

        close = difflib.get_close_matches(quant, QUANT_MODES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExportError(f"unknown quantization {quant!r}: choose one of {', '.join(QUANT_MODES)}{hint}")
    return quant


# --------------------------------------------------------------------------- data


def load_splits(md: ModelDir, test: bool) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray] | None]:
    """Training clips and the ``(clips, labels)`` test split of the model's own group-disjoint split.

    The test split is None unless asked for.
    """
    from har.train.fit import prepare_splits

    splits = own_splits(md, lambda cfg: prepare_splits(cfg, only=("train", "test") if test else ("train",)))
    return splits.train[0], (splits.test if test else None)


def own_splits(md: ModelDir, load: Callable):
    """The split ``md`` was trained and tested on, as ``load(TrainConfig)`` reads it (clips or pose features).

    Calibration and the report need that data again: a moved dataset or one
    whose classes changed is an :class:`ExportError` that says so.
    """
    from har.train.clips import VideoError
    from har.train.config import TrainConfig
    from har.train.dataset import DatasetError

    cfg = TrainConfig.from_dict(md.config)
    try:
        splits = load(cfg)
    except (DatasetError, VideoError, FileNotFoundError) as e:
        raise ExportError(f"int8 calibration and the report need the data {md.path} was trained on "
                          f"({cfg.data}): {e}") from None
    if splits.labels != md.labels:
        raise ExportError(f"the classes found in {cfg.data} ({', '.join(splits.labels)}) differ from the model's "
                          f"labels ({', '.join(md.labels)})")
    return splits


def calibration_clips(md: ModelDir, train_x: np.ndarray, n: int) -> np.ndarray:
    """Up to ``n`` training clips, drawn with the training seed (reproducible calibration)."""
    if len(train_x) == 0:
        raise ExportError(f"no training clips to calibrate {md.path} with")
    rng = np.random.default_rng(int(md.config.get("seed", 0)))
    idx = np.sort(rng.choice(len(train_x), size=min(n, len(train_x)), replace=False))
    return train_x[idx]


# --------------------------------------------------------------------------- conversion


@dataclass
class Conversion:
    """What one worker run produced."""

    files: dict[tuple[str, str], Path] = field(default_factory=dict)  # (graph, quant) -> .tflite
    seconds: dict[str, float] = field(default_factory=dict)
    keras_probs: np.ndarray | None = None
    keras_latency_ms: dict[int, float] = field(default_factory=dict)
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


def convert_models(md: ModelDir, work_dir: Path, targets: list[tuple[str, str]], *,
                   calibration: np.ndarray | None = None, evaluate: np.ndarray | None = None,
                   keras_latency_threads: tuple[int, ...] = (), keras_latency_runs: int = 20) -> Conversion:
    """Convert ``(graph, quant)`` targets of ``md`` in one worker run (plus Keras evaluation, if asked).

    Keras latency needs one worker per thread count: TensorFlow fixes its
    thread pools when it starts.
    """
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
        conv.calibration = {"split": "train", "clips": int(len(calibration)), "seed": md.config.get("seed")}
    if evaluate is not None:
        np.savez(work_dir / "test.npz", clips=evaluate)
        spec["evaluate"] = {"clips": str(work_dir / "test.npz"), "probs_out": str(work_dir / "keras_probs.npy")}
    first_threads = keras_latency_threads[0] if keras_latency_threads else None
    if first_threads:
        spec.update(keras_threads=first_threads, keras_latency=keras_latency_runs)
    events = run_worker(spec, work_dir)
    for extra in keras_latency_threads[1:]:
        events += run_worker({"model_dir": str(md.path), "keras_threads": extra,
                              "keras_latency": keras_latency_runs}, work_dir)
    for e in events:
        if e["event"] == "done":
            conv.seconds[e["target"]] = e["seconds"]
        elif e["event"] == "loaded":
            conv.versions = {"tensorflow": e["tensorflow"], "keras": e["keras"]}
        elif e["event"] == "keras_latency":
            conv.keras_latency_ms[int(e["threads"])] = e["ms"]
    if evaluate is not None:
        conv.keras_probs = np.load(work_dir / "keras_probs.npy")
    return conv


def targets_for(md: ModelDir, quants: list[str], streaming_quants: list[str] | None = None) -> list[tuple[str, str]]:
    """``(graph, quant)`` pairs: the window in every mode of ``quants``, the streaming pair in ``streaming_quants``."""
    streaming_quants = quants if streaming_quants is None else streaming_quants
    out = [("window", q) for q in quants]
    for q in streaming_quants:
        out += [(g, graph_quant(g, q)) for g in md.graphs if g != "window"]
    return list(dict.fromkeys(out))


def bundle_files(md: ModelDir, conv: Conversion, quant: str) -> dict[str, Path]:
    """Graph name -> converted file for a bundle of mode ``quant``."""
    return {g: conv.files[(g, graph_quant(g, quant))] for g in md.graphs}


# --------------------------------------------------------------------------- bundle


def float_ops(path: Path) -> list[str]:
    """Ops of a quantized model that still compute in float (any float input or output tensor)."""
    return [op.name for op in graph_ops(path)
            if op.name not in ("QUANTIZE", "DEQUANTIZE")
            and any(d in FLOAT_DTYPES for d in op.input_dtypes + op.output_dtypes)]


#: Resource-variable ops: a graph that still reads weights from variables fails or keeps state in LiteRT.
VARIABLE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})


def check_builtin_only(path: Path) -> list[str]:
    """The model's ops; :class:`ExportError` if any is Flex, custom or a resource variable."""
    ops = [op.name for op in graph_ops(path)]
    foreign = sorted({op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")})
    if foreign:
        raise ExportError(f"{path.name} needs ops that LiteRT cannot run without TensorFlow: {', '.join(foreign)}")
    variables = sorted(VARIABLE_OPS.intersection(ops))
    if variables:
        raise ExportError(f"{path.name} still holds resource variables ({', '.join(variables)}) instead of "
                          "frozen weights; the export graph must not read variables at run time")
    return ops


def check_out_dir(out_dir: str | Path) -> Path:
    """``out_dir`` if a bundle may be written there: absent, empty or an old bundle (which is replaced)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir())
                                                       and not (out_dir / "metadata.json").is_file())):
        raise ExportError(f"refusing to write the bundle into {out_dir}: it is not empty and not a bundle")
    return out_dir


def pixel_embedding_section(md: ModelDir, files: dict[str, Path], clips: np.ndarray) -> dict | None:
    """The ``embedding`` section (har.edge.enroll.references) of an LRCN bundle, from its calibration clips."""
    if "head" not in files:
        return None
    from har.export.pose import section_for

    encoder = TfliteModel(files["encoder"], normalization=md.normalization)
    feats = np.stack([np.stack([encoder.run(f) for f in clip]) for clip in clips])
    return section_for(files["head"], feats, md.labels)


def assemble_bundle(md: ModelDir, out_dir: Path, quant: str, files: dict[str, Path], conv: Conversion,
                    embedding: dict | None = None) -> Path:
    """Copy ``files`` (graph name -> .tflite) into ``out_dir`` with their metadata; replaces an old bundle."""
    with staged_bundle(out_dir) as stage:
        entries = {}
        for graph, src in files.items():
            dst = stage / MODEL_FILES[graph]
            shutil.copyfile(src, dst)
            ops = check_builtin_only(dst)
            model = TfliteModel(dst)
            entries[graph] = model_entry(dst, model.input, model.output, ops, graph_quant(graph, quant),
                                         embedding=model.embedding_output)
            if graph_quant(graph, quant) == "int8" and (left := float_ops(dst)):
                log.warning("%s: ops left in float by the converter: %s", MODEL_FILES[graph], ", ".join(left))
        sampling = md.sampling
        meta = build_metadata(
            labels=md.labels, seq_len=md.seq_len, frame_size=md.size,
            sampling_mode=sampling.get("mode", "interval"), interval_s=sampling.get("interval_s"),
            normalization=md.normalization, quantization=quant, models=entries, **provenance(md, conv, quant),
        )
        if embedding:
            meta["embedding"] = embedding
        write_metadata(stage, meta)
    return Path(out_dir)


def provenance(md: ModelDir, conv: Conversion, quant: str) -> dict:
    """The ``source`` and ``extra`` metadata of a bundle: which model, its held-out scores, how it was converted."""
    metrics = {k: md.metrics[k] for k in ("test_accuracy", "macro_f1") if k in md.metrics}
    return {"source": {"model": md.family, "model_dir": str(md.path), "test_metrics": metrics,
                       "split_sizes": md.metrics.get("split_sizes")},
            "extra": {"converter": conv.versions, "calibration": conv.calibration if quant == "int8" else None}}


@contextmanager
def staged_bundle(out_dir: str | Path) -> Iterator[Path]:
    """A private folder beside ``out_dir`` to build a bundle in, swapped into place once the block succeeds.

    A half-written bundle is never seen: on any error the folder is removed
    and an old bundle in ``out_dir`` stays as it was; a bundle that fails
    validation is an :class:`ExportError`.
    """
    out_dir = check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    stage.chmod(0o755)  # mkdtemp makes it private; the bundle is meant to be copied to devices
    try:
        yield stage
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            stage.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            stage.rename(out_dir)
    except BundleError as e:
        raise ExportError(f"the exported bundle failed validation: {e}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    load_bundle(out_dir)


def export_bundle(model_dir: str | Path, out_dir: str | Path, quant: str = "int8", representative_samples: int = 200,
                  log: Callable[[str], None] = log.info) -> Path:
    """Export ``model_dir`` as a bundle in ``out_dir`` (window model, streaming pair for LRCN, metadata).

    int8 calibrates on up to ``representative_samples`` training clips. A pose
    model directory becomes a pose bundle (:func:`har.export.pose.export_pose`).
    """
    md = load_model_dir(model_dir)
    if md.config.get("encoder") == "pose":
        from har.export.pose import export_pose

        return export_pose(model_dir, out_dir, quant, representative_samples, report=False, log=log)[0]
    check_quant(quant)
    check_out_dir(out_dir)
    calibration = None
    if quant == "int8":
        train_x, _ = load_splits(md, test=False)
        calibration = calibration_clips(md, train_x, representative_samples)
    work = Path(tempfile.mkdtemp(prefix="har-export-"))
    log(f"converting {md.path} ({md.family}) to {quant} TFLite")
    conv = convert_models(md, work, targets_for(md, [quant]), calibration=calibration)
    files = bundle_files(md, conv, quant)
    embedding = pixel_embedding_section(md, files, calibration) if calibration is not None else None
    path = assemble_bundle(md, Path(out_dir), quant, files, conv, embedding)
    shutil.rmtree(work, ignore_errors=True)
    log(f"wrote bundle {path}")
    return path


def export_all_variants(model_dir: str | Path, work_dir: str | Path, representative_samples: int = 200,
                        test_x: np.ndarray | None = None, train_x: np.ndarray | None = None,
                        keras_latency_threads: tuple[int, ...] = (1, 2),
                        streaming_quants: tuple[str, ...] = ("fp32", "int8"),
                        log: Callable[[str], None] = log.info) -> Conversion:
    """Convert the window model in every mode and the streaming pair in ``streaming_quants``, for the report.

    With ``test_x`` the Keras model's probabilities on it come back too (the
    reference every variant is compared with). ``train_x`` avoids loading the
    training split again when the caller already has it.
    """
    md = load_model_dir(model_dir)
    if train_x is None:
        train_x, _ = load_splits(md, test=False)
    calibration = calibration_clips(md, train_x, representative_samples)
    log(f"converting {md.path} ({md.family}) to {', '.join(QUANT_MODES)} TFLite")
    return convert_models(md, Path(work_dir), targets_for(md, list(QUANT_MODES), sorted(set(streaming_quants))),
                          calibration=calibration, evaluate=test_x, keras_latency_threads=keras_latency_threads)
