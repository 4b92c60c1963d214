"""A streaming video model a user would run instead, timed per frame beside the pose path.

The pose path's cost means something only next to the alternative, and a
shared machine's speed moves from one run to the next: so the alternative is
timed in the same rounds, on the same sampled frames, as the pose variants
(``har bench --pose-path ... --reference NAME=MODEL.tflite``).

A *stream* model in MoViNet's export convention takes one frame and its own
states and returns class scores plus the next states, each state output named
like the input it feeds (a TFLite signature). One call per sampled frame, the
states fed back, is the whole loop, so any such model can be the reference:
Google's published MoViNet-A0 stream int8, or one built from the architecture
by ``tools/movinet_reference.py`` (random weights: the same ops and shapes,
so the same time, and no accuracy to report).
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from har.edge.errors import HarError
from har.edge.litert import load_interpreter


class ReferenceError(HarError, ValueError):
    """The reference model is not a stream model this runner can drive."""


class StreamReference:
    """One stream model, called once per frame with its states fed back."""

    def __init__(self, path: str | Path, threads: int = 1):
        self.path = Path(path)
        interp = load_interpreter(self.path, threads)
        sigs = interp.get_signature_list()
        if len(sigs) != 1:
            raise ReferenceError(f"{self.path}: a stream model has one signature, this one has {len(sigs)}")
        key, sig = next(iter(sigs.items()))
        self._run = interp.get_signature_runner(key)
        details = self._run.get_input_details()
        states = [n for n in sig["inputs"] if n in sig["outputs"]]
        images = [n for n in sig["inputs"] if n not in states]
        if len(images) != 1:
            raise ReferenceError(f"{self.path}: expected one frame input beside its states, found {images}")
        self.image = images[0]
        self._image = details[self.image]
        shape = self._image["shape"]  # (1, 1, H, W, 3) for MoViNet; (1, H, W, 3) for a per-frame model
        self.size = (int(shape[-2]), int(shape[-3]))
        if len(shape) < 3 or int(np.prod(shape)) != self.size[0] * self.size[1] * 3:
            raise ReferenceError(f"{self.path}: a stream model takes one RGB frame a call; its input "
                                 f"{self.image!r} has shape {tuple(int(d) for d in shape)}")
        outputs = self._run.get_output_details()
        self._init = {n: np.full(details[n]["shape"], details[n]["quantization"][1], details[n]["dtype"])
                      for n in states}  # float zeros: an int8 state's zero point
        self._requant = {n: (outputs[n]["quantization"], details[n]["quantization"]) for n in states}
        self.reset()

    def reset(self) -> None:
        self._states = dict(self._init)

    def step(self, rgb: np.ndarray) -> None:
        """Classify one more frame (RGB uint8, any size): resize, quantize, call, keep the states."""
        x = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        scale, zero = self._image["quantization"]
        if scale:
            x = np.clip(np.round(x / scale + zero), *_limits(self._image["dtype"]))
        x = x.astype(self._image["dtype"]).reshape(self._image["shape"])
        out = self._run(**{self.image: x}, **self._states)
        self._states = {n: _requantize(out[n], *self._requant[n]) for n in self._states}


def _requantize(q: np.ndarray, out_q: tuple[float, int], in_q: tuple[float, int]) -> np.ndarray:
    """A state output as its input expects it: int8 states may have another scale on each side."""
    if not out_q[0] or out_q == in_q:
        return q
    x = (q.astype(np.float32) - out_q[1]) * out_q[0]
    return np.clip(np.round(x / in_q[0] + in_q[1]), *_limits(q.dtype)).astype(q.dtype)


def _limits(dtype) -> tuple[int, int]:
    info = np.iinfo(dtype)
    return info.min, info.max


def reference_row(name: str, ref: StreamReference, cpu_ms: float) -> dict:
    """A ``har bench`` row for the reference: CPU per sampled frame, no accuracy (its weights are not ours)."""
    from har.edge.bench import ROW_FIELDS

    row = dict.fromkeys(ROW_FIELDS)
    row.update(model="pose path", variant=f"{name} (reference, timing only)", backend="ai-edge-litert",
               status="ok", files=[str(ref.path)], accuracy_source=None,
               pose={"reference": True, "threads": 1, "cpu_ms_per_sampled_frame": cpu_ms,
                     "input": f"{ref.size[0]}x{ref.size[1]}", "states": len(ref._init)})
    return row
