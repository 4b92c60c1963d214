"""Run TFLite models on the device with LiteRT, never TensorFlow.

The interpreter comes from ``ai_edge_litert`` (the maintained LiteRT wheel)
or, on boards that only have it, ``tflite_runtime``. :class:`TfliteModel`
hides what differs between float and quantized models: it maps uint8 frames
or float features onto the model's input (quantizing where the model is
int8) and returns float32 outputs, so callers never touch scales or zero
points.

Details that silently give wrong answers, or slow ones, if forgotten:

* A fused TFLite LSTM keeps its activation and cell state in *variable*
  tensors that survive ``invoke()``. Each window must be classified from a
  clean state, so stateful graphs get ``reset_all_variables()`` before every
  call.
* A uint8 pixel has only 256 values, so normalize + quantize is computed once
  into a 256-entry table (from :func:`har.edge.preprocess.normalize` itself)
  and applied with ``cv2.LUT``: ~75 us per 20-frame window, where numpy's
  normalize of a fresh 1 MB float array can cost ~0.8 ms in page faults.
  An int8 input calibrated on [0, 1] pixels (scale 1/255, zero point -128)
  is simply ``x - 128``: one XOR with 0x80.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import cv2
import numpy as np

from har.edge.bundle import Bundle, BundleError
from har.edge.errors import first_line
from har.edge.litert import (  # noqa: F401 - re-exported: the runtime as callers know it
    DELEGATE_LIBS,
    EMBEDDING_OUTPUT,
    RUNTIMES,
    InterpreterError,
    OpInfo,
    TensorInfo,
    _runtime,
    _Tensor,
    _tensor,
    backend_name,
    delegate_partitions,
    graph_ops,
    load_delegate,
    load_interpreter,
    model_tensors,
    ordered_outputs,
)
from har.edge.preprocess import normalize

log = logging.getLogger(__name__)

#: Ops whose state lives in variable tensors between invokes.
STATEFUL_OPS = frozenset({"UNIDIRECTIONAL_SEQUENCE_LSTM", "BIDIRECTIONAL_SEQUENCE_LSTM", "LSTM",
                          "UNIDIRECTIONAL_SEQUENCE_RNN", "BIDIRECTIONAL_SEQUENCE_RNN", "RNN", "SVDF",
                          "VAR_HANDLE", "ASSIGN_VARIABLE"})


class TfliteModel:
    """One single-input, single-output TFLite model with float in, float out.

    A head may have a second output named ``embedding`` (its penultimate
    layer, har.edge.enroll): ``run`` returns the probabilities as always, and
    :meth:`embedding` reads the embedding the same invocation computed.

    ``run(x)`` takes ``x`` shaped like the model input, with or without its
    leading batch axis of 1:

    * ``uint8`` means pixels in [0, 255]: normalized as in training
      (``normalization``, see :func:`har.edge.preprocess.normalize`), then
      quantized if the model is;
    * any float dtype means values already in the model's float domain
      (normalized pixels or features), quantized if the model is.

    It returns the output as float32 (dequantized), without the batch axis.
    """

    def __init__(self, path: str | Path, threads: int = 1, delegate: str | None = None,
                 normalization: str = "scale_0_1"):
        self.path = Path(path)
        self.threads = threads
        self.delegate = delegate
        self.interpreter = load_interpreter(self.path, threads, delegate)
        inputs, outputs = self.interpreter.get_input_details(), ordered_outputs(self.interpreter.get_output_details())
        embeds = len(outputs) == 2 and outputs[0]["name"] != EMBEDDING_OUTPUT == outputs[1]["name"]
        if len(inputs) != 1 or not (len(outputs) == 1 or embeds):
            raise ValueError(f"{self.path} has {len(inputs)} inputs and {len(outputs)} outputs; "
                             f"har-edge models have one of each (a head may add one named {EMBEDDING_OUTPUT!r})")
        self._in, self._out = _tensor(inputs[0]), _tensor(outputs[0])
        self._emb = _tensor(outputs[1]) if embeds else None
        try:
            self._ops = [op.name for op in graph_ops(self.path)]
        except (ValueError, RuntimeError) as e:  # a graph damaged past the runtime's own checks
            raise InterpreterError(f"{self.path} cannot be read by {backend_name()}: {first_line(e)}") from None
        self.stateful = bool(STATEFUL_OPS.intersection(self._ops))
        self._dtype = np.dtype(self._in.info.dtype)
        # What each uint8 pixel value becomes in the input tensor.
        self._lut = self._to_input(normalize(np.arange(256, dtype=np.uint8), normalization))
        self._xor128 = self._lut.dtype == np.int8 and np.array_equal(
            self._lut.view(np.uint8), np.arange(256, dtype=np.uint8) ^ np.uint8(0x80))

    @property
    def input(self) -> TensorInfo:
        return self._in.info

    @property
    def output(self) -> TensorInfo:
        return self._out.info

    @property
    def embedding_output(self) -> TensorInfo | None:
        """The head's second output, its penultimate layer (None: the model has no such output)."""
        return self._emb.info if self._emb else None

    def embedding(self) -> np.ndarray:
        """The embedding output of the latest :meth:`run`, float32 without the batch axis (no second pass)."""
        if self._emb is None:
            raise ValueError(f"{self.path} has no {EMBEDDING_OUTPUT!r} output")
        return self._read(self._emb)

    def ops(self) -> list[str]:
        """Op names of the graph, in execution order."""
        return list(self._ops)

    @property
    def delegated(self) -> bool:
        """True when a delegate (XNNPACK by default, or the requested one) took part of the graph."""
        return delegate_partitions(self.interpreter) > 0

    def undelegated_ops(self) -> list[str]:
        """Ops that run on the runtime's own kernels because no delegate took them.

        The node list keeps the original ops next to the DELEGATE nodes that
        replaced them, so each delegate's partition is found by walking back
        from its outputs to its inputs.
        """
        nodes = self.interpreter._get_ops_details()
        original = [n for n in nodes if n["op_name"] != "DELEGATE"]
        producer = {int(t): n["index"] for n in original for t in n["outputs"]}
        taken: set[int] = set()
        for d in (n for n in nodes if n["op_name"] == "DELEGATE"):
            boundary = {int(t) for t in d["inputs"]}
            stack = [int(t) for t in d["outputs"]]
            while stack:
                t = stack.pop()
                node = producer.get(t)
                if t in boundary or node is None or node in taken:
                    continue
                taken.add(node)
                stack += [int(i) for i in nodes[node]["inputs"] if i >= 0]
        return [n["op_name"] for n in original if n["index"] not in taken]

    def _to_input(self, x: np.ndarray) -> np.ndarray:
        """Float values -> the input tensor's dtype (quantized with its scale and zero point)."""
        info = self._in.info
        if not info.quantized:
            return x.astype(self._dtype, copy=False)
        limits = np.iinfo(self._dtype)
        q = np.round(x.astype(np.float32) / np.float32(info.scale)) + info.zero_point
        return np.clip(q, limits.min, limits.max).astype(self._dtype)

    def prepare(self, x: np.ndarray) -> np.ndarray:
        """``x`` as the model's input tensor (batch axis added, normalized and quantized as needed)."""
        x = np.asarray(x)
        shape = self._in.info.shape
        if x.shape == shape[1:] and shape[0] == 1:
            x = x[None]
        elif x.shape != shape:
            raise ValueError(f"{self.path.name} takes input of shape {list(shape)}, not {list(x.shape)}")
        if x.dtype != np.uint8:
            return self._to_input(x)
        if self._xor128:
            return np.bitwise_xor(x, np.uint8(0x80)).view(np.int8)
        return cv2.LUT(x.reshape(-1, x.shape[-1]), self._lut).reshape(x.shape)

    def run(self, x: np.ndarray) -> np.ndarray:
        """Invoke on one input; returns the float32 output without its batch axis."""
        it = self.interpreter
        if self.stateful:
            it.reset_all_variables()
        it.set_tensor(self._in.index, self.prepare(x))
        it.invoke()
        return self._read(self._out)

    def _read(self, t: _Tensor) -> np.ndarray:
        y = self.interpreter.get_tensor(t.index)[0]
        o = t.info
        if o.quantized:
            return (y.astype(np.float32) - np.float32(o.zero_point)) * np.float32(o.scale)
        return y.astype(np.float32, copy=False)


class WindowClassifier:
    """Classify a whole window of frames with the bundle's ``model.tflite``."""

    def __init__(self, bundle: Bundle, threads: int = 1, delegate: str | None = None):
        self.bundle = bundle
        self.model = TfliteModel(bundle.model_file("window", delegate), threads, delegate, bundle.normalization)

    def classify(self, frames_u8: np.ndarray) -> np.ndarray:
        """``(seq_len, H, W, 3)`` uint8 RGB frames -> float32 class probabilities ``(n_classes,)``."""
        return self.model.run(frames_u8)


class StreamingClassifier:
    """Encode each frame once, then classify the window of cached features.

    ``threads`` and ``delegate`` apply to the encoder, the part that has the
    work in it. The head (an LSTM) always runs on the CPU with one thread:
    LiteRT's LSTM kernel is single-threaded anyway (0.037 ms at 1 and 2
    threads), and a second thread pool whose workers spin after each call
    competes with the encoder's pool for the cores.
    """

    def __init__(self, bundle: Bundle, threads: int = 1, delegate: str | None = None):
        if not bundle.has_streaming:
            raise BundleError(f"bundle {bundle.path} has no encoder/head pair for streaming inference")
        self.bundle = bundle
        self.encoder = TfliteModel(bundle.model_file("encoder", delegate), threads, delegate, bundle.normalization)
        self.head = TfliteModel(bundle.model_file("head"), threads=1)
        self.feature_dim = self.encoder.output.shape[-1]

    def encode(self, frame_u8: np.ndarray) -> np.ndarray:
        """One ``(H, W, 3)`` uint8 RGB frame -> its float32 feature vector ``(F,)``."""
        return self.encoder.run(frame_u8)

    def classify(self, features: np.ndarray) -> np.ndarray:
        """``(seq_len, F)`` float32 features -> float32 class probabilities ``(n_classes,)``."""
        self.last_input = np.asarray(features, dtype=np.float32)  # what the embedding model reads too
        return self.head.run(self.last_input)


class PoseClassifier:
    """Keypoints of each sampled frame, then the head on the window's features (a pose bundle).

    ``encode`` runs the pose estimator (detector when nobody is tracked, the
    landmark model every frame) and returns the raw ``(33, 5)`` landmarks,
    NaN when nobody was found: the window keeps raw keypoints, exactly what
    training cached, and ``classify`` turns them into features with the same
    :func:`har.edge.pose.features.window_features_from_array` training used,
    x and y put in one unit by the frames' aspect ratio as in training. The
    pose models are the bundle's own copies, or the pose cache's for a bundle
    that says so, verified by their sha256.

    A window with a pose in fewer than ``bundle.min_found_fraction`` of its
    frames gets no label: ``classify`` returns the uniform distribution
    without running the head, which a head trained on people would otherwise
    turn into a confident label for an empty room. The smoother then ends the
    running action and enters none (with three or more labels at its default
    thresholds, docs/pose.md).

    The pose models run in the bundle's preferred mode (``pose.landmark_every``:
    every k-th sampled frame, the rest interpolated, :mod:`har.edge.pose.modes`);
    ``attach`` with a live source lets :mod:`har.edge.pose.adapt` step to the
    cheaper mode the bundle declares when the device cannot keep up. The
    landmark model is the lite one where the bundle allows it and it is
    cached (``landmark_model``; ``landmarks`` overrides, :func:`har.edge.pose.lite.choose_landmarks`).
    """

    def __init__(self, bundle: Bundle, threads: int = 1, landmarks: str | None = None):
        from har.edge.pose.assets import PoseModels
        from har.edge.pose.estimator import PoseEstimator
        from har.edge.pose.features import FEATURE_DIM
        from har.edge.pose.lite import choose_landmarks

        if not bundle.is_pose:
            raise BundleError(f"bundle {bundle.path} is not a pose bundle (its encoder is {bundle.encoder_kind!r})")
        if bundle.feature_dim != FEATURE_DIM:
            raise BundleError(f"bundle {bundle.path} was exported for {bundle.feature_dim} pose features per frame, "
                              f"but this har-edge computes {FEATURE_DIM}; re-export it with this version of har")
        from har.edge.pose.adapt import bundle_modes
        from har.edge.pose.modes import ModalEstimator

        landmark_file, self.landmark_model = choose_landmarks(bundle, landmarks)
        models = PoseModels(bundle.model_file("pose_detector"), landmark_file)
        self.bundle = bundle
        self.estimator = PoseEstimator(models, threads=threads)
        self.modes = bundle_modes(bundle)
        self.modal = ModalEstimator(self.estimator, self.modes[0])
        self.governor = None
        self._metrics = None
        self.head = TfliteModel(bundle.model_file("head"), threads=1)
        self.feature_dim = FEATURE_DIM
        self.min_found_fraction = bundle.min_found_fraction
        self.aspect = 1.0
        self.last_pose = None  # the latest Pose (or None), for drawing

    def encode(self, frame_rgb: np.ndarray) -> np.ndarray:
        """One full-size ``(H, W, 3)`` uint8 RGB frame -> its ``(33, 5)`` float32 landmarks (NaN: nobody)."""

        h, w = frame_rgb.shape[:2]
        self.aspect = float(np.float32(w / h))  # as training stored it
        t0 = time.perf_counter()
        row = self.modal.step(frame_rgb)
        self.last_pose = self.modal.last_pose if np.isfinite(row[0, 0]) else None
        if self.governor is not None:
            if (mode := self.governor.observe(time.perf_counter() - t0)) is not None:
                self.modal.mode = mode
            if self._metrics is not None:
                self._metrics.extra.update(self.governor.metrics())
        return row

    def attach(self, live: bool, metrics=None) -> None:
        """Adapt the pose mode to what the device sustains while a live source runs; numbers go to ``metrics``."""
        from har.edge.pose.adapt import ModeGovernor

        self.governor = ModeGovernor(self.modes, self.bundle.interval_s) if live and self.bundle.interval_s else None
        self._metrics = metrics if self.governor is not None else None
        if self._metrics is not None:
            self._metrics.extra.update(self.governor.metrics())

    def enough_poses(self, landmarks: np.ndarray) -> bool:
        """True when at least ``min_found_fraction`` of the window's frames have a pose."""
        from har.edge.pose.features import found_frames
        from har.edge.pose.modes import fill_skipped

        return bool(found_frames(fill_skipped(landmarks)).sum() >= self.min_found_fraction * len(landmarks))

    def classify(self, landmarks: np.ndarray) -> np.ndarray:
        """``(seq_len, 33, 5)`` landmarks -> float32 class probabilities ``(n_classes,)`` (uniform: nobody)."""
        from har.edge.pose.features import window_features_from_array
        from har.edge.pose.modes import fill_skipped

        landmarks = fill_skipped(landmarks)  # once: the pose count and the features would each fill it again
        if not self.enough_poses(landmarks):
            n = self.bundle.num_classes
            return np.full(n, 1.0 / n, np.float32)
        self.last_input = window_features_from_array(landmarks, aspect=self.aspect)  # the embedding reads it too
        return self.head.run(self.last_input)

    def reset(self) -> None:
        """Forget the tracked person (a gap in the stream): the next frame runs the detector."""
        self.modal.reset()
