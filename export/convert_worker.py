"""Subprocess that does everything TensorFlow: build export graphs, convert, run Keras.

Why a subprocess: the TFLite converter is native code and can die with a
segfault (full-int8 calibration of a while-loop LSTM does, with TF 2.21).
Run in-process that kills the CLI with no message; run here, the parent sees
the signal, reads which target was in progress from the progress file and
says so in one sentence. It also keeps TensorFlow's start-up noise and
memory out of the parent.

Usage (by :mod:`har.export.tflite`, not by hand)::

    python -m har.export.convert_worker spec.json

The spec names the trained model directory, the graphs and quantization modes
to convert, the calibration clips (training split only) and optionally test
clips to run through the Keras model. Progress and results are appended to
``spec["progress"]`` as JSON lines.

Export graphs (same weights as training, a different layout) are built by the
family's registry entry (``har.models.registry.ExportSpec.build``: the LRCN's
folded window and streaming pair, the ConvLSTM's window, the pose head and
the embeddings, see each family's module). Inputs of a family whose encoder
is not ``pixels`` are features, used as they are (no pixel normalization, no
pixel-range anchoring).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
from pathlib import Path

import numpy as np

from har.edge.preprocess import normalize
from har.models.fused_lstm import ExportGraphError


class WorkerError(Exception):
    """A failure the parent reports as is (one sentence)."""


def _emit(progress: Path, **event) -> None:
    with open(progress, "a") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()
        os.fsync(f.fileno())


# --------------------------------------------------------------------------- graphs


# --------------------------------------------------------------------------- conversion


def _representative(graph: str, clips: np.ndarray, normalization: str, encoder=None):
    """Calibration inputs for ``graph``, from training clips (uint8) only."""
    x = normalize(clips, normalization)
    if graph == "window":
        return [c[None] for c in x]
    frames = x.reshape(-1, *x.shape[2:])
    if graph == "encoder":
        return [f[None] for f in frames]
    feats = encoder.predict(frames, batch_size=64, verbose=0).reshape(len(x), x.shape[1], -1)
    return [f[None] for f in feats]


def convert(model, quant: str, representative=None) -> bytes:
    """TFLite flatbuffer of ``model``, builtin ops only (no Flex: LiteRT has no Flex delegate)."""
    import tensorflow as tf

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if quant != "fp32":
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
    if quant == "fp16":
        conv.target_spec.supported_types = [tf.float16]
    if quant == "int8":
        data = representative
        conv.representative_dataset = lambda: ([x] for x in data)
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = tf.int8
        conv.inference_output_type = tf.int8
    try:
        return conv.convert()
    except Exception as e:  # ConverterError and friends: one sentence, not MLIR locations
        raise WorkerError(_converter_message(str(e), model.name, quant)) from None


def _converter_message(text: str, graph: str, quant: str) -> str:
    missing = sorted(set(re.findall(r"'tf\.(\w+)' op is neither a custom op nor a flex op", text)))
    if missing:
        return (f"the {graph} graph uses TensorFlow ops with no TFLite builtin ({', '.join(missing)}), and Flex "
                "ops are not an option because the LiteRT runtime has no Flex delegate")
    lines = [ln for ln in text.splitlines() if "error:" in ln] or text.splitlines() or ["unknown error"]
    detail = lines[0].split("error:")[-1].rsplit("): ", 1)[-1].strip()
    return f"the TFLite converter refused the {graph} graph ({quant}): {detail}"


def _anchor_input_range(clips: np.ndarray) -> np.ndarray:
    """Make the calibration clips span the full pixel range [0, 255].

    Two pixels of the first frame are set to 0 and 255 so the int8 input
    range is the whole normalized pixel range: with ``scale_0_1`` that is
    scale 1/255 and zero point -128 exactly, and the device quantizes a uint8
    frame with ``x - 128`` (see har.edge.interpreter).
    """
    clips = clips.copy()
    clips[0, 0, 0, 0] = 0
    clips[0, 0, 0, 1] = 255
    return clips


def run(spec: dict) -> None:
    progress = Path(spec["progress"])
    import keras
    import tensorflow as tf

    from har.models.keras_layers import load_model

    normalization = spec.get("normalization", "scale_0_1")
    src = (_from_weights(spec) if spec.get("weights")
           else load_model(Path(spec["model_dir"]) / "model.keras"))
    _emit(progress, event="loaded", tensorflow=tf.__version__, keras=keras.__version__)
    targets = spec.get("targets") or []
    if targets:
        entry = _entry(spec["family"])
        graphs = entry.export.build(src, spec["num_classes"], spec["seq_len"], spec["size"])
        features = entry.input_spec.encoder != "pixels"
        clips = None
        if spec.get("calibration"):
            with np.load(spec["calibration"]) as z:
                clips = z["clips"] if features else _anchor_input_range(z["clips"])
        reps: dict[str, list] = {}
        for t in targets:
            graph, quant = t["graph"], t["quant"]
            _emit(progress, event="start", target=f"{graph}:{quant}")
            t0 = time.perf_counter()
            rep = None
            if quant == "int8":
                if clips is None:
                    raise WorkerError("int8 conversion needs calibration clips")
                if graph not in reps:
                    reps[graph] = ([c[None].astype(np.float32) for c in clips] if features
                                   else _representative(graph, clips, normalization, graphs.get("encoder")))
                rep = reps[graph]
            data = convert(graphs[graph], quant, rep)
            if graph == "head":  # the penultimate layer as a second output: har-edge enroll's embedding
                from har.export.head_embedding import add_embedding_output

                data = add_embedding_output(data)
            Path(t["path"]).write_bytes(data)
            _emit(progress, event="done", target=f"{graph}:{quant}", seconds=round(time.perf_counter() - t0, 2))
    if spec.get("evaluate"):
        ev = spec["evaluate"]
        with np.load(ev["clips"]) as z:
            x = z["clips"]
        if _entry(spec.get("family") or "").input_spec.encoder == "pixels":
            x = normalize(x, normalization)
        probs = src.predict(x, batch_size=16, verbose=0) if len(x) else np.zeros((0,))
        np.save(ev["probs_out"], probs.astype(np.float32))
        _emit(progress, event="evaluated", clips=int(len(x)))
    _emit(progress, event="finished")


def _from_weights(spec: dict):
    """A pose head rebuilt from ``head.weights.npz`` (``<layer>/<index>`` arrays), for a bundle without model.keras."""
    from har.models import build_model

    with np.load(spec["weights"]) as z:
        arrays = {k: z[k].astype(np.float32) for k in z.files}
    model = build_model(spec["family"], spec["num_classes"], spec["seq_len"], feature_dim=spec["feature_dim"])
    for layer in model.layers:
        ws = [arrays[f"{layer.name}/{i}"] for i in range(len(layer.get_weights()))]
        if ws:
            layer.set_weights(ws)
    return model


def _entry(family: str):
    """The family's registry entry; a family without export graphs is a WorkerError."""
    from har.models import get_entry

    try:
        entry = get_entry(family)
    except KeyError:
        entry = None
    if entry is None or not entry.exportable:
        raise WorkerError(f"no export graphs for model family {family!r}")
    return entry


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        run(spec)
    except (WorkerError, ExportGraphError) as e:
        _emit(Path(spec["progress"]), event="error", message=str(e))
        return 3
    except Exception as e:  # unexpected: the parent points at the log with the traceback
        traceback.print_exc()
        _emit(Path(spec["progress"]), event="error", message=f"{type(e).__name__}: {e}", traceback=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
