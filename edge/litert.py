"""The LiteRT runtime itself: which interpreter package, delegates, and what a model file's tensors are.

The lowest layer of the device side: the bundle reader checks model files
with :func:`model_tensors`, the pose models load with
:func:`load_interpreter`, and :mod:`har.edge.interpreter` builds the
classifiers on top. Nothing here knows what a bundle is, so nothing here
imports one.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import platform
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np

from har.edge.config import MAX_THREADS, ConfigError
from har.edge.errors import HarError, first_line

#: (import name, distribution name), in order of preference.
RUNTIMES = (("ai_edge_litert.interpreter", "ai-edge-litert"), ("tflite_runtime.interpreter", "tflite-runtime"))
#: Tensor name of a head's second output, its penultimate layer (``models.head.embedding`` in a bundle).
EMBEDDING_OUTPUT = "embedding"
DELEGATE_LIBS = {
    "edgetpu": {"Darwin": "libedgetpu.1.dylib", "Windows": "edgetpu.dll"}.get(platform.system(), "libedgetpu.so.1"),
}

class InterpreterError(HarError, OSError):
    """No usable runtime or delegate library, or a model or setting it refuses; the message says what to do."""


@functools.cache
def _runtime():
    """The interpreter module and its distribution name, ai-edge-litert first."""
    for module, dist in RUNTIMES:
        try:
            return importlib.import_module(module), dist
        except ImportError:
            continue
    raise InterpreterError("no TFLite runtime is installed: pip install ai-edge-litert "
                           "(or use the board's tflite-runtime); TensorFlow is not used on the edge")


def backend_name() -> str:
    """``"ai-edge-litert 2.3.0"`` or ``"tflite-runtime 2.14.0"``: the runtime that runs the models."""
    _, dist = _runtime()
    try:
        return f"{dist} {version(dist)}"
    except PackageNotFoundError:
        return dist


def load_delegate(name: str):
    """Load a hardware delegate by name; only ``"edgetpu"`` (Coral, libedgetpu) is known."""
    if name not in DELEGATE_LIBS:
        raise ConfigError(f"unknown delegate {name!r}; the only one is 'edgetpu' (leave it out to run on the CPU)")
    lib = DELEGATE_LIBS[name]
    try:  # probe first: a failed load_delegate() also prints a traceback from its destructor
        ctypes.CDLL(lib)
    except OSError:
        raise InterpreterError(f"the {name} delegate needs {lib}, which is not installed; install the Edge TPU "
                               "runtime (libedgetpu1-std, see docs/edgetpu.md) or run without --delegate") from None
    module, _ = _runtime()
    try:
        return module.load_delegate(lib)
    except (ValueError, OSError) as e:
        raise InterpreterError(f"{lib} is installed but the {name} delegate did not load ({e}); "
                               "is the Coral device plugged in?") from None


def load_interpreter(path: str | Path, threads: int = 1, delegate: str | None = None, content: bytes | None = None):
    """An allocated interpreter for ``path`` with ``threads`` CPU threads and an optional delegate.

    ``content``: the model's bytes as derived from ``path`` (a pruned graph,
    :mod:`har.edge.pose.prune`), run instead of the file; ``path`` names it in errors.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such model file")
    if isinstance(threads, bool) or not isinstance(threads, int) or not 1 <= threads <= MAX_THREADS:
        raise InterpreterError(f"threads must be from 1 to {MAX_THREADS}, not {threads!r}")
    module, _ = _runtime()
    delegates = [load_delegate(delegate)] if delegate else None
    try:
        source = {"model_content": content} if content is not None else {"model_path": str(path)}
        interpreter = module.Interpreter(**source, num_threads=threads, experimental_delegates=delegates)
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as e:  # not a TFLite model, or one the runtime cannot allocate
        raise InterpreterError(f"{path} cannot be loaded by {backend_name()}: {first_line(e)}") from None
    return interpreter


def delegate_partitions(interpreter) -> int:
    """How many parts of an allocated graph a delegate took (XNNPACK by default): 0 means the runtime's own kernels."""
    return sum(op["op_name"] == "DELEGATE" for op in interpreter._get_ops_details())


@dataclass(frozen=True)
class OpInfo:
    """One op of a graph with the dtypes of its tensors (a float one in an int8 model runs unquantized)."""

    name: str
    input_dtypes: tuple[str, ...]
    output_dtypes: tuple[str, ...]


def graph_ops(path: str | Path) -> list[OpInfo]:
    """The ops of the model graph in execution order, as the converter wrote them (no delegate applied)."""
    module, _ = _runtime()
    interpreter = module.Interpreter(
        model_path=str(path), experimental_op_resolver_type=module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    dtypes = {t["index"]: np.dtype(t["dtype"]).name for t in interpreter.get_tensor_details()}

    def names(indices) -> tuple[str, ...]:
        return tuple(dtypes.get(int(i), "?") for i in indices if i >= 0)

    return [OpInfo(op["op_name"], names(op["inputs"]), names(op["outputs"])) for op in interpreter._get_ops_details()]


def model_tensors(path: str | Path, invoke: bool = True) -> tuple[list[TensorInfo], list[TensorInfo]]:
    """The model's real input and output tensors, after the steps that running it takes.

    Allocating the tensors and reading every op is what :class:`TfliteModel`
    does; a damaged graph that the runtime's flatbuffer check lets through
    fails there, so here it fails when the bundle is loaded, not at the first
    frame. It loads with the runtime's default CPU delegate (XNNPACK), as the
    device will: a graph XNNPACK refuses (an int8 tensor with an impossible
    zero point) is refused here too. And it runs once on zeros and reads its
    outputs: an op whose constant input lost its data allocates fine and fails
    only when invoked, an output whose data is gone only when read.
    ``invoke=False`` skips that run, for a file already known to run (one
    verified against a pinned SHA-256 of a published model).
    Raises ValueError or RuntimeError for a file the runtime cannot use.
    """
    module, _ = _runtime()
    interpreter = module.Interpreter(model_path=str(path), num_threads=1)
    interpreter.allocate_tensors()
    interpreter._get_ops_details()
    if invoke:
        for d in interpreter.get_input_details():
            interpreter.set_tensor(d["index"], np.zeros(d["shape"], d["dtype"]))
        interpreter.invoke()
        for d in interpreter.get_output_details():  # an output whose buffer lost its data fails only when read
            interpreter.get_tensor(d["index"])
    return ([_tensor(d).info for d in interpreter.get_input_details()],
            [_tensor(d).info for d in ordered_outputs(interpreter.get_output_details())])


def ordered_outputs(details: list[dict]) -> list[dict]:
    """Output details in file order, except that a head's embedding output (``EMBEDDING_OUTPUT``) comes last."""
    return sorted(details, key=lambda d: d["name"] == EMBEDDING_OUTPUT)


@dataclass(frozen=True)
class _Tensor:
    index: int
    info: TensorInfo


def _tensor(detail: dict) -> _Tensor:
    scale, zero_point = detail["quantization"]
    info = TensorInfo(tuple(int(d) for d in detail["shape"]), np.dtype(detail["dtype"]).name, float(scale),
                      int(zero_point), str(detail.get("name", "")))
    return _Tensor(detail["index"], info)


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and affine quantization (``real = scale * (q - zero_point)``) of one tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0
    name: str = field(default="", compare=False)  # as the model file names it; not part of the metadata

    @property
    def quantized(self) -> bool:
        return self.dtype in ("int8", "uint8", "int16") and self.scale > 0

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


def tensor_text(t: TensorInfo) -> str:
    q = f" (scale {t.scale:.6g}, zero point {t.zero_point})" if t.quantized else ""
    return f"{t.dtype}{list(t.shape)}{q}"
