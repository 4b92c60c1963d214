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

Export graphs (same weights as training, a different layout):

* LRCN ``window``: batch 1, the 20 frames folded into the batch axis so the
  CNN runs once on all of them (per-frame TimeDistributed slicing makes 240
  STRIDED_SLICE ops that LiteRT runs slowly and off XNNPACK), then one fused
  ``UNIDIRECTIONAL_SEQUENCE_LSTM`` (an unrolled LSTM costs ~400 small ops and
  ~90 KB of graph, more than the int8 weights themselves).
* LRCN ``encoder`` (one frame -> 64 features) and ``head`` (features -> probs)
  for streaming. Every converted ``head`` also gives its penultimate layer,
  the LSTM's last state over the window, as a second output named
  ``embedding``: what ``har-edge enroll`` compares windows with
  (:mod:`har.export.head_embedding`).
* ConvLSTM ``window``: ``build_convlstm(export_graph=True)``, whose
  TimeDistributed(MaxPooling2D) replaces MaxPool3D (no TFLite builtin).
* Pose head (``pose_lstm``) ``head``: the same fused-LSTM head as the LRCN's,
  on keypoint features. Its calibration and test inputs are features, used
  as they are (no pixel normalization, no pixel-range anchoring).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
import traceback
import uuid
from pathlib import Path

import numpy as np

from har.edge.preprocess import normalize


class WorkerError(Exception):
    """A failure the parent reports as is (one sentence)."""


def _emit(progress: Path, **event) -> None:
    with open(progress, "a") as f:
        f.write(json.dumps(event) + "\n")
        f.flush()
        os.fsync(f.fileno())


# --------------------------------------------------------------------------- graphs


def _fused_lstm_layer(src_lstm, name: str = "lstm"):
    """A Keras layer the converter turns into one UNIDIRECTIONAL_SEQUENCE_LSTM op.

    The TFLite converter fuses a function that carries the attributes Keras 2
    gave its LSTM (``api_implements="lstm_<id>"``, ``time_major``,
    ``go_backwards``) and the Keras 2 ``standard_lstm`` signature
    ``(inputs, init_h, init_c, kernel, recurrent_kernel, bias) -> (last,
    outputs, h, c, runtime)``; Keras 3 no longer emits it. The body below is
    only what TensorFlow runs (for calibration); the converter replaces it.
    Weights enter as constants: passed as variables the converter crashes.
    """
    import keras
    import tensorflow as tf

    cfg = src_lstm.get_config()
    unsupported = {k: cfg.get(k) for k, ok in (("activation", "tanh"), ("recurrent_activation", "sigmoid"))
                   if cfg.get(k) != ok}
    for flag in ("go_backwards", "return_sequences", "stateful"):
        if cfg.get(flag):
            unsupported[flag] = True
    if not cfg.get("use_bias", True):
        unsupported["use_bias"] = False
    if unsupported:
        raise WorkerError(f"the LSTM layer {src_lstm.name!r} uses {unsupported}, which the fused TFLite LSTM "
                          "does not support; train with the default LSTM settings")
    kernel, recurrent, bias = (np.asarray(w, np.float32) for w in src_lstm.get_weights())
    units = recurrent.shape[0]

    def standard_lstm(inputs, init_h, init_c, kernel, recurrent_kernel, bias):
        h, c = init_h, init_c
        for t in range(inputs.shape[1]):
            z = tf.matmul(inputs[:, t], kernel) + tf.matmul(h, recurrent_kernel) + bias
            i, f, g, o = tf.split(z, 4, axis=1)  # Keras gate order
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
        return h, h[:, None], h, c, tf.constant(0.0)

    fused = tf.function(standard_lstm, autograph=False, experimental_attributes={
        "api_implements": f"lstm_{uuid.uuid4().hex}", "api_preferred_device": "CPU",
        "time_major": False, "go_backwards": False})

    class FusedLSTM(keras.layers.Layer):
        def compute_output_shape(self, input_shape):
            return (input_shape[0], units)

        def call(self, x):
            zeros = tf.zeros((x.shape[0], units))
            last, *_ = fused(x, zeros, zeros, tf.constant(kernel), tf.constant(recurrent), tf.constant(bias))
            return last

    return FusedLSTM(name=name)


def _dense_copy(src_dense):
    import keras

    cfg = src_dense.get_config()
    return keras.layers.Dense(cfg["units"], activation=cfg["activation"], name=src_dense.name)


def build_lrcn_graphs(src, seq_len: int, size: int) -> dict:
    """``window``, ``encoder`` and ``head`` Keras models (batch 1) with the weights of ``src``."""
    import keras

    from har.models.lrcn import build_lrcn_encoder, copy_weights_by_name

    encoder = build_lrcn_encoder(size)
    copy_weights_by_name(src, encoder)
    features = int(encoder.output.shape[-1])
    src_lstm, src_dense = src.get_layer("lstm"), src.get_layer("probs")

    frames = keras.Input((seq_len, size, size, 3), batch_size=1, name="frames")
    x = keras.ops.reshape(frames, (seq_len, size, size, 3))  # time folded into the batch axis
    for layer in encoder.layers[1:]:
        x = layer(x)
    x = keras.ops.reshape(x, (1, seq_len, features))
    x = _fused_lstm_layer(src_lstm)(x)
    dense = _dense_copy(src_dense)
    window = keras.Model(frames, dense(x), name="lrcn_window")
    dense.set_weights(src_dense.get_weights())

    return {"window": window, "encoder": encoder, "head": _lstm_head(src_lstm, src_dense, seq_len, features, "lrcn_head")}


def _lstm_head(src_lstm, src_dense, seq_len: int, features: int, name: str):
    """``(1, seq_len, features)`` -> class probabilities: fused LSTM + dense, with the weights of the sources."""
    import keras

    feats = keras.Input((seq_len, features), batch_size=1, name="features")
    head_dense = _dense_copy(src_dense)
    head = keras.Model(feats, head_dense(_fused_lstm_layer(src_lstm)(feats)), name=name)
    head_dense.set_weights(src_dense.get_weights())
    return head


#: Model families whose input is per-frame features, not pixels.
FEATURE_FAMILIES = ("pose_lstm",)


def build_pose_graphs(src, seq_len: int) -> dict:
    """The pose head's ``head`` graph (batch 1, fused LSTM); dropout is an identity at inference."""
    features = int(src.input_shape[-1])
    return {"head": _lstm_head(src.get_layer("lstm"), src.get_layer("probs"), seq_len, features, "pose_head")}


def build_convlstm_graphs(src, num_classes: int, seq_len: int, size: int) -> dict:
    """The ConvLSTM ``window`` graph (batch 1, unrolled, TimeDistributed pooling).

    Recurrent dropout only acts in training, yet Keras 3 traces its seed
    generator into the inference graph as resource variables (VAR_HANDLE,
    READ_VARIABLE, ASSIGN_VARIABLE): the export copy sets it to zero.
    """
    from har.models.convlstm import build_convlstm

    window = build_convlstm(num_classes, seq_len, size, export_graph=True)
    window.set_weights(src.get_weights())
    for layer in window.layers:
        if hasattr(layer, "cell"):
            layer.cell.recurrent_dropout = 0.0
    return {"window": window}


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
    threads = spec.get("keras_threads")
    import tensorflow as tf

    if threads:  # must happen before TensorFlow runs anything
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    normalization = spec.get("normalization", "scale_0_1")
    src = (_from_weights(spec) if spec.get("weights")
           else keras.models.load_model(Path(spec["model_dir"]) / "model.keras", compile=False))
    _emit(progress, event="loaded", tensorflow=tf.__version__, keras=keras.__version__)
    targets = spec.get("targets") or []
    if targets:
        family, seq_len, size = spec["family"], spec["seq_len"], spec["size"]
        if family == "lrcn":
            graphs = build_lrcn_graphs(src, seq_len, size)
        elif family == "convlstm":
            graphs = build_convlstm_graphs(src, spec["num_classes"], seq_len, size)
        elif family in FEATURE_FAMILIES:
            graphs = build_pose_graphs(src, seq_len)
        else:
            raise WorkerError(f"no export graphs for model family {family!r}")
        clips = None
        if spec.get("calibration"):
            with np.load(spec["calibration"]) as z:
                clips = z["clips"] if family in FEATURE_FAMILIES else _anchor_input_range(z["clips"])
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
                    reps[graph] = ([c[None].astype(np.float32) for c in clips] if family in FEATURE_FAMILIES
                                   else _representative(graph, clips, normalization, graphs.get("encoder")))
                rep = reps[graph]
            data = convert(graphs[graph], quant, rep)
            if graph == "head":
                from har.export.head_embedding import add_embedding_output

                data = add_embedding_output(data)
            Path(t["path"]).write_bytes(data)
            _emit(progress, event="done", target=f"{graph}:{quant}", seconds=round(time.perf_counter() - t0, 2))
    if spec.get("evaluate"):
        ev = spec["evaluate"]
        with np.load(ev["clips"]) as z:
            x = z["clips"]
        if spec.get("family") not in FEATURE_FAMILIES:
            x = normalize(x, normalization)
        probs = src.predict(x, batch_size=16, verbose=0) if len(x) else np.zeros((0,))
        np.save(ev["probs_out"], probs.astype(np.float32))
        _emit(progress, event="evaluated", clips=int(len(x)))
    if spec.get("keras_latency"):
        _emit(progress, event="keras_latency", threads=threads, ms=_keras_latency(src, spec["keras_latency"]))
    _emit(progress, event="finished")


def _from_weights(spec: dict):
    """A pose head rebuilt from ``head.weights.npz`` (``<layer>/<index>`` arrays), for a bundle without model.keras."""
    from har.models.pose_head import build_pose_lstm

    with np.load(spec["weights"]) as z:
        arrays = {k: z[k].astype(np.float32) for k in z.files}
    model = build_pose_lstm(spec["num_classes"], spec["seq_len"], feature_dim=spec["feature_dim"])
    for layer in model.layers:
        ws = [arrays[f"{layer.name}/{i}"] for i in range(len(layer.get_weights()))]
        if ws:
            layer.set_weights(ws)
    return model


def _keras_latency(model, runs: int) -> float:
    """Median ms of one batch-1 window through the Keras model (graph mode, not eager)."""
    import tensorflow as tf

    shape = (1, *model.input_shape[1:])
    fn = tf.function(lambda x: model(x, training=False), input_signature=[tf.TensorSpec(shape, tf.float32)])
    x = tf.zeros(shape)
    for _ in range(3):
        fn(x)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(x).numpy()
        times.append(time.perf_counter() - t0)
    return round(float(np.median(times)) * 1e3, 3)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(argv[0]).read_text())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        run(spec)
    except WorkerError as e:
        _emit(Path(spec["progress"]), event="error", message=str(e))
        return 3
    except Exception as e:  # unexpected: the parent points at the log with the traceback
        traceback.print_exc()
        _emit(Path(spec["progress"]), event="error", message=f"{type(e).__name__}: {e}", traceback=True)
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
