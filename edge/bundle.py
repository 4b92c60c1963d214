"""The bundle: the one artefact that travels from the workstation to the device.

A bundle is a directory::

    model.tflite     whole-window model: (1, seq_len, H, W, 3) -> class probabilities
    encoder.tflite   streaming encoder: one (1, H, W, 3) frame -> its feature vector
    head.tflite      streaming head: (1, seq_len, F) features -> class probabilities
    embed.tflite     optional: (1, seq_len, F) features -> the head's penultimate layer (its LSTM state),
                     the embedding ``har-edge enroll`` compares windows with (har.edge.enroll)
    metadata.json    everything the device must do exactly as training did

A *pose* bundle (``"encoder": "pose"``, schema version 2) has no pixel model:
``head.tflite`` reads ``(1, seq_len, F)`` keypoint features
(``har.edge.pose.features``), and the two BlazePose models it needs,
``pose_detector.tflite`` and ``pose_landmarks.tflite``, travel inside the
bundle with their sha256 like every other file, so the device needs nothing
else. Or, in a bundle exported with ``--pose-models cache`` (the default
model that ships with the package is one, tens of KB instead of 9 MB), their
entries say ``"source": "pose-cache"``: no file in the folder, the same sha256,
tensors and ops, and the loader takes the pinned files from the verified pose
cache (:mod:`har.edge.pose.assets`), fetching them first on an interactive
run. Pixel bundles are still written as version 1, so a device with an older
har-edge keeps reading them; this reader takes both versions.

Why one module for both sides: ``har export`` writes bundles with
:func:`build_metadata` / :func:`write_metadata`, and the device reads them
with :func:`load_bundle`, so the two cannot drift apart. This module imports
only the standard library, and the LiteRT interpreter wrapper lazily: a
Raspberry Pi without TensorFlow can validate a bundle.

Validation is strict because a wrong bundle fails silently otherwise: a model
file swapped or truncated on the SD card, labels that no longer match the
model's outputs, or a sampling rule the model was not trained with all give
confident nonsense instead of an error. So the metadata is checked against
itself, every file against its sha256, and every model's real input and
output tensors (shape, dtype, quantization) against the metadata, since a
hash only proves the file is the one the metadata names, not that the
metadata describes it. Every refusal is one sentence that says what is wrong
and what to do.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from har.edge.errors import HarError, first_line
from har.edge.preprocess import NORMALIZATIONS

log = logging.getLogger(__name__)

SCHEMA = "har-edge.bundle"
SCHEMA_VERSION = 2  # the newest this har-edge writes and reads
READABLE_VERSIONS = (1, 2)  # 2 added pose bundles; pixel bundles are still written as 1
PIXEL_SCHEMA_VERSION = 1
METADATA_FILE = "metadata.json"
#: Logical model name -> file name inside the bundle.
MODEL_FILES = {"window": "model.tflite", "encoder": "encoder.tflite", "head": "head.tflite",
               "embed": "embed.tflite", "pose_detector": "pose_detector.tflite", "pose_landmarks": "pose_landmarks.tflite"}
#: Models a pose bundle must have; it has no pixel model (window, encoder).
POSE_MODELS = ("head", "pose_detector", "pose_landmarks")
#: Pose model -> the pinned file of the pose cache it must be (``har.edge.pose.assets.ASSETS``).
POSE_CACHE_FILES = {"pose_detector": "pose_detection.tflite", "pose_landmarks": "pose_landmark_full.tflite"}
#: ``models.<name>.source``: the file is in the bundle folder (the default) or in the verified pose cache.
MODEL_SOURCES = ("bundle", "pose-cache")
POSE_CACHE = "pose-cache"
EDGETPU_SUFFIX = "_edgetpu"
QUANT_MODES = ("int8", "dynamic", "fp16", "fp32")
ENCODER_KINDS = ("cnn", "pose")
COLOR_ORDERS = ("RGB",)
SAMPLING_MODES = ("interval", "uniform")
#: A pose window with a pose in fewer than this share of its frames gets no label (metadata may say otherwise).
DEFAULT_MIN_FOUND_FRACTION = 0.5
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
#: Limits far above any real model that keep a bad metadata.json from exhausting memory before it is refused.
MAX_METADATA_BYTES = 4 << 20
MAX_SEQ_LEN = 1024
MAX_FRAME_SIZE = 1024
MAX_WINDOW_BYTES = 1 << 30  # one window of uint8 frames, seq_len * frame_size**2 * 3
MAX_INTERVAL_S = 60.0


class BundleError(HarError, ValueError):
    """A bundle that cannot be used; the message is one sentence saying why."""


@dataclass(frozen=True)
class TensorInfo:
    """Shape, dtype and affine quantization (``real = scale * (q - zero_point)``) of one tensor."""

    shape: tuple[int, ...]
    dtype: str
    scale: float = 0.0
    zero_point: int = 0

    @property
    def quantized(self) -> bool:
        return self.dtype in ("int8", "uint8", "int16") and self.scale > 0

    def to_dict(self) -> dict:
        return {"shape": list(self.shape), "dtype": self.dtype, "scale": self.scale, "zero_point": self.zero_point}


@dataclass(frozen=True)
class ModelInfo:
    """One model file of a bundle, as recorded in ``metadata.json``."""

    name: str
    file: str
    sha256: str
    bytes: int
    input: TensorInfo
    output: TensorInfo
    ops: tuple[str, ...]
    quantization: str | None = None  # per model: an int8 bundle keeps its LSTM head in fp32
    source: str = "bundle"  # "pose-cache": the pinned file in the pose cache, not in the bundle folder


@dataclass(frozen=True)
class Bundle:
    """A validated bundle. Build it with :func:`load_bundle`, never by hand."""

    path: Path
    metadata: dict = field(repr=False)
    labels: list[str]
    seq_len: int
    frame_size: int | None  # frames are frame_size x frame_size; None for pose (full frames to the estimator)
    color_order: str
    normalization: str
    sampling_mode: str  # "interval" or "uniform"
    interval_s: float | None  # seconds between sampled frames; None for "uniform"
    quantization: str
    encoder_kind: str  # "cnn" (pixels) or "pose" (keypoint features)
    models: dict[str, ModelInfo]
    source_metrics: dict
    schema_version: int = PIXEL_SCHEMA_VERSION
    pose_cache: Path | None = None  # where models with source "pose-cache" were found, verified

    @property
    def pose_models_source(self) -> str | None:
        """"bundle" or "pose-cache": where a pose bundle's two pose models come from (None: not a pose bundle)."""
        if not self.is_pose:
            return None
        return POSE_CACHE if self.models["pose_detector"].source == POSE_CACHE else "bundle"

    @property
    def background_labels(self) -> list[str]:
        """Labels meaning "no action" unless the config names others: ``idle`` and the like (har.edge.vocabulary)."""
        from har.edge.vocabulary import BACKGROUND_NAMES, normalize

        return [lab for lab in self.labels if normalize(lab) in BACKGROUND_NAMES]

    @property
    def min_found_fraction(self) -> float:
        """Share of a window's frames that must have a pose for a label (``pose.min_found_fraction``, 0.5)."""
        return float((self.metadata.get("pose") or {}).get("min_found_fraction", DEFAULT_MIN_FOUND_FRACTION))

    @property
    def is_pose(self) -> bool:
        """True for a keypoint bundle: pose models + a head on their features, no pixel model."""
        return self.encoder_kind == "pose"

    @property
    def has_streaming(self) -> bool:
        """True when the bundle has the encoder/head pair for streaming inference."""
        return "encoder" in self.models and "head" in self.models

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def feature_dim(self) -> int | None:
        """Length of the per-frame feature vector the head reads (None without streaming or pose)."""
        if self.is_pose:
            return self.models["head"].input.shape[-1]
        return self.models["encoder"].output.shape[-1] if self.has_streaming else None

    @property
    def embedding_dim(self) -> int | None:
        """Length of the window embedding that ``har-edge enroll`` compares (None: no ``embed`` model)."""
        return self.models["embed"].output.shape[-1] if "embed" in self.models else None

    def model_file(self, name: str, delegate: str | None = None) -> Path:
        """Path of model ``name`` ("window", "encoder" or "head").

        With ``delegate="edgetpu"`` the Edge TPU-compiled copy
        (``<name>_edgetpu``, see docs/edgetpu.md) is returned: the Edge TPU
        delegate only runs models compiled for it.
        """
        key = name + EDGETPU_SUFFIX if delegate == "edgetpu" else name
        if key not in self.models:
            if delegate == "edgetpu" and name == "window":
                raise BundleError("the Edge TPU runs the streaming encoder, not the whole-window model: use streaming "
                                  "with an Edge TPU-compiled encoder (docs/edgetpu.md)")
            if delegate == "edgetpu" and name in self.models:
                raise BundleError(f"bundle {self.path} has no Edge TPU-compiled {name} model; compile "
                                  f"{MODEL_FILES[name]} with edgetpu_compiler and add it as docs/edgetpu.md describes")
            raise BundleError(f"bundle {self.path} has no {name!r} model (it has: {', '.join(self.models)})")
        info = self.models[key]
        return (self.pose_cache if info.source == POSE_CACHE else self.path) / info.file


# --------------------------------------------------------------------------- reading


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle directory; raises :class:`BundleError` with one clear sentence."""
    path = Path(path)
    meta_path = path / METADATA_FILE
    if not path.is_dir():
        raise BundleError(f"bundle {path} does not exist; export one with `har export --model artifacts/lrcn`")
    if not meta_path.is_file():
        raise BundleError(f"{path} is not a bundle: it has no {METADATA_FILE} (export one with `har export`)")
    meta = _read_metadata(meta_path)
    if meta.get("schema") != SCHEMA:
        raise BundleError(f"{meta_path} is not a har-edge bundle (schema {_short(meta.get('schema'))}, "
                          f"expected {SCHEMA!r})")
    version = meta.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:  # True == 1 in Python, not in a bundle
        raise BundleError(f"bundle {path} has schema version {_short(version)} but this har-edge reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}; re-export it with this version of har")
    bundle = _parse(path, meta)
    for info in bundle.models.values():
        if info.source != POSE_CACHE:
            _verify_file(path, info)
    if any(info.source == POSE_CACHE for info in bundle.models.values()):
        bundle = replace(bundle, pose_cache=_pose_cache(path))
    for info in bundle.models.values():
        _check_tensors(bundle.pose_cache if info.source == POSE_CACHE else path, info)
    return bundle


def _pose_cache(path: Path) -> Path:
    """The verified pose cache folder, fetched into first on an interactive run (see ``ensure_pose_models``)."""
    from har.edge.pose.assets import PoseModelsError, ensure_pose_models

    try:
        return ensure_pose_models().detector.parent
    except PoseModelsError as e:
        raise BundleError(f"bundle {path} takes its pose models from the pose cache, but {e}") from None


def _read_metadata(meta_path: Path) -> dict:
    try:
        if meta_path.stat().st_size > MAX_METADATA_BYTES:
            raise BundleError(f"{meta_path} is over {MAX_METADATA_BYTES >> 20} MiB, far more than a bundle's "
                              "metadata; re-export the bundle")
        meta = json.loads(meta_path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise BundleError(f"{meta_path} is not valid JSON ({e}); re-export the bundle") from None
    except RecursionError:
        raise BundleError(f"{meta_path} nests too deeply to be a bundle's metadata; re-export the bundle") from None
    except OSError as e:
        raise BundleError(f"cannot read {meta_path}: {e.strerror or e}") from None
    if not isinstance(meta, dict):
        raise BundleError(f"{meta_path} must hold a JSON object, not {type(meta).__name__}")
    return meta


def _short(value: Any) -> str:
    """``repr`` cut to a readable length: values quoted in errors may come from a hostile file."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _parse(path: Path, meta: dict) -> Bundle:
    where = f"{path / METADATA_FILE}"
    labels = _field(meta, "labels", list, where)
    if not labels or not all(isinstance(x, str) and x for x in labels) or len(set(labels)) != len(labels):
        raise BundleError(f"{where}: 'labels' must be a non-empty list of distinct strings")
    seq_len = _positive_int(meta, "seq_len", where, MAX_SEQ_LEN)
    encoder_kind = _choice(meta, "encoder", ENCODER_KINDS, where)
    if encoder_kind == "pose" and meta["schema_version"] < 2:
        raise BundleError(f"{where}: pose bundles need schema version 2, not {meta['schema_version']}; re-export it")
    frame_size = None if encoder_kind == "pose" else _positive_int(meta, "frame_size", where, MAX_FRAME_SIZE)
    if frame_size is not None and seq_len * frame_size * frame_size * 3 > MAX_WINDOW_BYTES:
        raise BundleError(f"{where}: a window of {seq_len} frames of {frame_size}x{frame_size} needs over "
                          f"{MAX_WINDOW_BYTES >> 30} GiB; no device runs that, re-export a smaller model")
    color_order = _choice(meta, "color_order", COLOR_ORDERS, where)
    normalization = _choice(meta, "normalization", NORMALIZATIONS, where)
    sampling = _field(meta, "sampling", dict, where)
    mode = _choice(sampling, "mode", SAMPLING_MODES, where + " sampling")
    interval_s = sampling.get("interval_s")
    if mode == "interval":
        # NaN would sample every frame, infinity never; both pass a plain `> 0`.
        if (not isinstance(interval_s, int | float) or isinstance(interval_s, bool)
                or not 0 < interval_s <= MAX_INTERVAL_S):
            raise BundleError(f"{where}: interval sampling needs a positive 'interval_s' of at most "
                              f"{MAX_INTERVAL_S:g} s, not {_short(interval_s)}")
        interval_s = float(interval_s)
    else:
        interval_s = None
    quantization = _choice(meta, "quantization", QUANT_MODES, where)
    raw_models = _field(meta, "models", dict, where)
    models = {name: _model_info(name, entry, where) for name, entry in raw_models.items()}
    for name, info in models.items():
        base = name.removesuffix(EDGETPU_SUFFIX)
        if base not in MODEL_FILES or (base != name and base not in models):
            raise BundleError(f"{where}: unknown model {name!r} (known: {', '.join(MODEL_FILES)} and their "
                              f"{EDGETPU_SUFFIX} copies)")
        if info.source == POSE_CACHE and POSE_CACHE_FILES.get(name) != info.file:
            raise BundleError(f"{where}: only the pose models can come from the pose cache, as "
                              f"{' and '.join(POSE_CACHE_FILES.values())}, not model {name!r} as {info.file!r}")
    if encoder_kind == "pose":
        _check_pose(meta, models, len(labels), seq_len, where)
    else:
        if "window" not in models:
            raise BundleError(f"{where}: 'models' has no 'window' entry")
        if ("encoder" in models) != ("head" in models):
            raise BundleError(f"{where}: 'encoder' and 'head' come as a pair, but only one is listed")
        if "embed" in models and "head" not in models:
            raise BundleError(f"{where}: model 'embed' reads the streaming head's input, but there is no head")
        if set(POSE_MODELS[1:]) & set(models):
            raise BundleError(f"{where}: pose models listed in a bundle whose encoder is {encoder_kind!r}")
        _check_shapes(models, len(labels), seq_len, frame_size, where)
    source = meta.get("source") or {}
    metrics = source.get("test_metrics") if isinstance(source, dict) else None
    return Bundle(path=path, metadata=meta, labels=list(labels), seq_len=seq_len, frame_size=frame_size,
                  color_order=color_order, normalization=normalization, sampling_mode=mode,
                  interval_s=interval_s, quantization=quantization, encoder_kind=encoder_kind, models=models,
                  source_metrics=dict(metrics) if isinstance(metrics, dict) else {},
                  schema_version=meta["schema_version"])


def _check_pose(meta: dict, models: dict[str, ModelInfo], n_classes: int, seq_len: int, where: str) -> None:
    """A pose bundle: the head and both pose models, and a head shaped for ``pose.feature_dim`` features."""
    missing = [m for m in POSE_MODELS if m not in models]
    if missing:
        raise BundleError(f"{where}: a pose bundle needs the models {', '.join(POSE_MODELS)} (missing "
                          f"{', '.join(missing)}); re-export it with `har export`")
    extra = [m for m in models if m.removesuffix(EDGETPU_SUFFIX) not in (*POSE_MODELS, "embed")]
    if extra:
        raise BundleError(f"{where}: a pose bundle has no pixel model, but lists {', '.join(extra)}")
    # The head was trained on keypoints of exactly these pose models: another
    # detector or landmark model (a "lite" variant, a modified file with a
    # rewritten metadata.json) would give other keypoints, so only the pinned
    # files are accepted.
    from har.edge.pose.assets import ASSETS

    for name, asset in POSE_CACHE_FILES.items():
        if models[name].sha256 != ASSETS[asset].sha256:
            raise BundleError(f"{where}: model {name!r} is not the pinned {asset} (sha256 {models[name].sha256[:12]}... "
                              f"instead of {ASSETS[asset].sha256[:12]}...); re-export the bundle with `har export`")
    if models["pose_detector"].source != models["pose_landmarks"].source:
        raise BundleError(f"{where}: the two pose models must both be in the bundle or both come from the pose "
                          "cache; re-export it with `har export`")
    pose = _field(meta, "pose", dict, where)
    feature_dim = _positive_int(pose, "feature_dim", where + " pose", 1 << 16)
    found = pose.get("min_found_fraction", DEFAULT_MIN_FOUND_FRACTION)
    if not isinstance(found, int | float) or isinstance(found, bool) or not 0 <= found <= 1:
        raise BundleError(f"{where}: pose.min_found_fraction must be a number from 0 to 1, not {found!r}")
    from har.edge.pose.adapt import check_declared_modes
    from har.edge.pose.lite import check_lite_declaration

    if (bad := check_declared_modes(pose) or check_lite_declaration(pose)) is not None:
        raise BundleError(f"{where}: {bad}; re-export the bundle with `har export`")
    head = models["head"]
    if head.input.shape != (1, seq_len, feature_dim):
        raise BundleError(f"{where}: model 'head' takes input {list(head.input.shape)}, but seq_len {seq_len} and "
                          f"pose.feature_dim {feature_dim} need {[1, seq_len, feature_dim]}")
    if head.output.shape[-1] != n_classes:
        raise BundleError(f"{where}: model 'head' outputs {head.output.shape[-1]} classes but {n_classes} labels "
                          "are listed")
    _check_embed(models, head.input.shape, where)


def _check_embed(models: dict[str, ModelInfo], head_input: tuple[int, ...], where: str) -> None:
    """The optional embedding model reads exactly what the head reads and gives one ``(1, D)`` vector."""
    embed = models.get("embed")
    if embed is None:
        return
    if embed.input.shape != head_input or len(embed.output.shape) != 2 or embed.output.shape[0] != 1:
        raise BundleError(f"{where}: model 'embed' takes {list(embed.input.shape)} and gives "
                          f"{list(embed.output.shape)}, but it must read the head's input {list(head_input)} "
                          "and give one vector; re-export the bundle")


def _check_shapes(models: dict[str, ModelInfo], n_classes: int, seq_len: int, size: int, where: str) -> None:
    """The recorded tensor shapes must agree with labels, seq_len and frame size.

    This is what catches a metadata.json edited by hand (another seq_len, a
    label added) that no longer describes the model files.
    """
    expected = {"window": ((1, seq_len, size, size, 3), n_classes), "encoder": ((1, size, size, 3), None)}
    if "encoder" in models:
        expected["head"] = ((1, seq_len, models["encoder"].output.shape[-1]), n_classes)
    for name, info in models.items():
        if name == "embed":
            _check_embed(models, expected["head"][0], where)
            continue
        want_in, want_classes = expected[name.removesuffix(EDGETPU_SUFFIX)]
        if info.input.shape != want_in:
            raise BundleError(f"{where}: model {name!r} takes input {list(info.input.shape)}, but seq_len "
                              f"{seq_len} and frame_size {size} need {list(want_in)}")
        if want_classes is not None and info.output.shape[-1] != want_classes:
            raise BundleError(f"{where}: model {name!r} outputs {info.output.shape[-1]} classes but "
                              f"{want_classes} labels are listed")


def _model_info(name: str, entry: Any, where: str) -> ModelInfo:
    if not isinstance(entry, dict):
        raise BundleError(f"{where}: models.{name} must be an object")
    file = _field(entry, "file", str, f"{where} models.{name}")
    if Path(file).name != file or file in ("", ".", ".."):
        raise BundleError(f"{where}: models.{name}.file must be a plain file name inside the bundle, not {file!r}")
    sha = _field(entry, "sha256", str, f"{where} models.{name}")
    if not _SHA256.match(sha):
        raise BundleError(f"{where}: models.{name}.sha256 is not a sha256 hex digest")
    size = _field(entry, "bytes", int, f"{where} models.{name}")
    ops = entry.get("ops") or []
    if not isinstance(ops, list):
        raise BundleError(f"{where}: models.{name}.ops must be a list of op names")
    quant = entry.get("quantization")
    if quant is not None and quant not in QUANT_MODES:
        raise BundleError(f"{where}: models.{name}.quantization {quant!r} is not one of {', '.join(QUANT_MODES)}")
    source = entry.get("source", "bundle")
    if source not in MODEL_SOURCES:
        raise BundleError(f"{where}: models.{name}.source {source!r} is not one of {', '.join(MODEL_SOURCES)}")
    return ModelInfo(name, file, sha, size, _tensor(entry, "input", name, where),
                     _tensor(entry, "output", name, where), tuple(str(o) for o in ops), quant, source)


def _tensor(entry: dict, key: str, name: str, where: str) -> TensorInfo:
    t = entry.get(key)
    if not isinstance(t, dict) or not isinstance(t.get("shape"), list) or not isinstance(t.get("dtype"), str):
        raise BundleError(f"{where}: models.{name}.{key} needs a 'shape' list and a 'dtype'")
    shape, scale, zero_point = t["shape"], t.get("scale") or 0.0, t.get("zero_point") or 0
    if (not shape or not all(type(d) is int and d >= 1 for d in shape) or type(zero_point) is not int
            or not isinstance(scale, int | float) or isinstance(scale, bool) or not math.isfinite(scale)):
        raise BundleError(f"{where}: models.{name}.{key} has a malformed shape or quantization")
    return TensorInfo(tuple(shape), t["dtype"], float(scale), zero_point)


def _field(d: dict, key: str, kind: type, where: str):
    if key not in d:
        raise BundleError(f"{where} lacks the field {key!r}; re-export the bundle")
    value = d[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BundleError(f"{where}: {key!r} must be {kind.__name__}, not {_short(value)}")
    return value


def _positive_int(d: dict, key: str, where: str, most: int) -> int:
    value = _field(d, key, int, where)
    if not 1 <= value <= most:
        raise BundleError(f"{where}: {key!r} must be from 1 to {most}, not {_short(value)}")
    return value


def _choice(d: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    value = _field(d, key, str, where)
    if value not in allowed:
        raise BundleError(f"{where}: {key} {_short(value)} is not supported by this har-edge (known: "
                          f"{', '.join(allowed)})")
    return value


def sha256_file(path: Path) -> str:
    from har.edge.download import file_digests  # the package's one file hasher

    return file_digests(path, "sha256")["sha256"]


def _verify_file(bundle_dir: Path, info: ModelInfo) -> None:
    p = bundle_dir / info.file
    if not p.is_file():
        raise BundleError(f"bundle {bundle_dir} is missing {info.file} (listed as the {info.name} model); "
                          "copy the whole bundle directory again")
    if p.stat().st_size != info.bytes or sha256_file(p) != info.sha256:
        raise BundleError(f"{p} does not match the sha256 recorded in {METADATA_FILE} (changed or corrupted); "
                          "copy the bundle again or re-export it")


def _check_tensors(bundle_dir: Path, info: ModelInfo) -> None:
    """The model file's real first input and output must be what ``metadata.json`` says, quantization included.

    The checks on the metadata alone cannot see a metadata.json that is
    consistent but wrong (a label added, another seq_len, encoder and head
    swapped): the model would then answer with a wrong label at high
    confidence, or fail at the first frame.
    """
    if info.name.endswith(EDGETPU_SUFFIX):
        return  # only the Edge TPU delegate can open it; its tensors are those of the model it was compiled from
    from har.edge.interpreter import model_tensors  # LiteRT; that module imports this one

    p = bundle_dir / info.file
    try:
        inputs, outputs = model_tensors(p)
    except (ValueError, RuntimeError) as e:
        raise BundleError(f"model {info.name!r} ({p}) is not a TFLite model this runtime can load "
                          f"({first_line(e)}); re-export the bundle") from None
    single = info.name in ("window", "encoder", "head", "embed")
    if not inputs or not outputs or (single and (len(inputs), len(outputs)) != (1, 1)):
        raise BundleError(f"model {info.name!r} ({p}) has {len(inputs)} inputs and {len(outputs)} outputs, "
                          f"not the one of each a {info.name} model has; re-export the bundle")
    for side, real, recorded in (("input", inputs[0], info.input), ("output", outputs[0], info.output)):
        if not _same_tensor(real, recorded):
            raise BundleError(f"model {info.name!r} ({info.file}) {side} is {_tensor_text(real)} but "
                              f"{METADATA_FILE} says {_tensor_text(recorded)}; the metadata does not describe "
                              "this model, re-export the bundle")


def _same_tensor(real: TensorInfo, recorded: TensorInfo) -> bool:
    if (real.shape, real.dtype) != (recorded.shape, recorded.dtype) or real.quantized != recorded.quantized:
        return False
    return not real.quantized or (real.zero_point == recorded.zero_point
                                  and math.isclose(real.scale, recorded.scale, rel_tol=1e-6))


# --------------------------------------------------------------------------- writing


def model_entry(path: Path, input: TensorInfo, output: TensorInfo, ops: list[str],
                quantization: str | None = None, source: str = "bundle") -> dict:
    """The ``models.<name>`` entry of ``metadata.json`` for the file at ``path``.

    ``source="pose-cache"`` records a pose model that stays in the pose cache
    (``path`` is the cached file); the entry then says so and the bundle
    folder holds no copy.
    """
    path = Path(path)
    return {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "quantization": quantization, "input": input.to_dict(), "output": output.to_dict(),
            "ops": list(dict.fromkeys(ops)), **({"source": source} if source != "bundle" else {})}


def build_metadata(*, labels: list[str], seq_len: int, frame_size: int | None, sampling_mode: str,
                   interval_s: float | None, quantization: str, models: dict[str, dict], source: dict,
                   normalization: str = "scale_0_1", encoder_kind: str = "cnn", pose: dict | None = None,
                   extra: dict | None = None) -> dict:
    """Assemble ``metadata.json``. ``models`` maps names to :func:`model_entry` dicts.

    Pixel bundles are schema v1 (unchanged, so older devices read them);
    ``encoder_kind="pose"`` writes v2 with ``frame_size`` null and the
    ``pose`` section (at least ``feature_dim``). ``source`` describes where
    the models came from, at least ``{"model": ..., "test_metrics": {...}}``;
    ``extra`` adds free-form provenance (converter versions, calibration)
    that readers ignore.
    """
    from har.edge import __version__

    is_pose = encoder_kind == "pose"
    meta = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION if is_pose else PIXEL_SCHEMA_VERSION,
        "har_version": __version__,
        "labels": list(labels),
        "seq_len": int(seq_len),
        "frame_size": None if is_pose else int(frame_size),
        "color_order": "RGB",
        "normalization": normalization,
        "sampling": {"mode": sampling_mode, "interval_s": float(interval_s) if sampling_mode == "interval" else None},
        "quantization": quantization,
        "encoder": encoder_kind,
        **({"pose": dict(pose or {})} if is_pose else {}),
        "models": models,
        "source": source,
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    meta.update(extra or {})
    return meta


def write_metadata(bundle_dir: str | Path, metadata: dict) -> Bundle:
    """Write ``metadata.json`` atomically, then read the bundle back so a bad one is never left behind."""
    bundle_dir = Path(bundle_dir)
    fd, tmp = tempfile.mkstemp(dir=bundle_dir, prefix=".metadata-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    os.chmod(tmp, 0o644)  # mkstemp makes it private; a bundle is meant to be copied and read
    os.replace(tmp, bundle_dir / METADATA_FILE)
    return load_bundle(bundle_dir)


def add_model(bundle_dir: str | Path, name: str, file: str | Path) -> Bundle:
    """Record an extra model file, such as the Edge TPU-compiled encoder, in a bundle.

    ``name`` must be ``<window|encoder|head>_edgetpu``. The file is copied
    into the bundle if it is elsewhere and hashed like the others; its tensor
    description is the one of the model it was compiled from (edgetpu_compiler
    keeps inputs and outputs as they are).
    """
    bundle = load_bundle(bundle_dir)
    base = name.removesuffix(EDGETPU_SUFFIX)
    if base == name or base not in bundle.models:
        raise BundleError(f"cannot add {name!r}: the name must be one of "
                          f"{', '.join(n + EDGETPU_SUFFIX for n in bundle.models if EDGETPU_SUFFIX not in n)}")
    src = Path(file)
    if not src.is_file():
        raise BundleError(f"{src} does not exist")
    dst = bundle.path / src.name
    if src.resolve() != dst.resolve():
        shutil.copyfile(src, dst)
    base_info = bundle.models[base]
    meta = dict(bundle.metadata)
    meta["models"] = dict(meta["models"])
    meta["models"][name] = model_entry(dst, base_info.input, base_info.output, ["EDGETPU_CUSTOM_OP"],
                                       base_info.quantization)
    return write_metadata(bundle.path, meta)


# --------------------------------------------------------------------------- describing


def describe(bundle: Bundle | str | Path, threads: int = 1, delegate: str | None = None) -> str:
    """Human-readable summary for ``har-edge info``: metadata, verified hashes, ops and delegate.

    Loads each model with the interpreter the device would use, so the text
    also says which ops the delegate takes (XNNPACK by default on CPU) and
    which stay on the reference kernels: that split is what decides speed.
    """
    from har.edge.interpreter import DELEGATE_LIBS, TfliteModel, backend_name, load_delegate

    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    m = b.metadata
    src = m.get("source") or {}
    lines = [
        f"bundle     {b.path} (schema {SCHEMA} v{b.schema_version}, har {m.get('har_version')}, "
        f"exported {m.get('exported_at')})",
        f"source     {src.get('model', '?')} model, test accuracy {_fmt(b.source_metrics.get('test_accuracy'))}, "
        f"macro-F1 {_fmt(b.source_metrics.get('macro_f1'))}",
        f"labels     {len(b.labels)}: {', '.join(b.labels)}",
        f"encoder    {_encoder_text(b)}",
        (f"input      {b.seq_len} frames of {b.frame_size}x{b.frame_size} {b.color_order}, {b.normalization}, "
         if not b.is_pose else f"input      {b.seq_len} frames, full size {b.color_order} to the pose estimator, ")
        + (f"one every {b.interval_s:g} s" if b.sampling_mode == "interval" else "uniform over the clip"),
        f"quantized  {b.quantization}; streaming encoder/head: {'yes' if b.has_streaming else 'no'}",
        f"runtime    {backend_name()}, {threads} thread(s), delegate: "
        + (f"{delegate} ({DELEGATE_LIBS.get(delegate, '?')})" if delegate else "the runtime's default CPU delegate (XNNPACK)"),
        "models     (sha256 verified; tensors read from the model files match the metadata)",
    ]
    if delegate:
        load_delegate(delegate)  # fail here, with its one-sentence error, if the library is missing
    compiled = [n for n in b.models if n.endswith(EDGETPU_SUFFIX)]
    if delegate == "edgetpu" and not compiled:
        lines.append("           (no Edge TPU-compiled model in this bundle, so all run on the CPU: see docs/edgetpu.md)")
    for name in (n for n in b.models if not n.endswith(EDGETPU_SUFFIX)):
        on_tpu = delegate == "edgetpu" and name + EDGETPU_SUFFIX in b.models
        info = b.models[name + EDGETPU_SUFFIX if on_tpu else name]
        lines.append(f"  {name:<14} {info.file:<22} {info.bytes / 1024:7.1f} KiB  "
                     f"in {_tensor_text(info.input)} -> out {_tensor_text(info.output)}"
                     + ("  (from the pose cache)" if info.source == POSE_CACHE else ""))
        if name in POSE_MODELS[1:]:  # several outputs: run by har.edge.pose, not TfliteModel
            lines.append(f"           ops: {_counts(info.ops)}")
            continue
        model = TfliteModel(b.path / info.file, threads=threads, delegate=delegate if on_tpu else None)
        lines.append(f"           ops: {_counts(model.ops())}")
        cpu = model.undelegated_ops()
        if model.delegated:
            lines.append("           the delegate runs every op" if not cpu else
                         f"           outside the delegate (the runtime's own CPU kernels): {_counts(cpu)}")
        else:
            lines.append("           no delegate took any op: all run on the runtime's own CPU kernels")
    return "\n".join(lines)


def _encoder_text(b: Bundle) -> str:
    if b.is_pose:
        where = (f"the pose models come from the verified pose cache {b.pose_cache}"
                 if b.pose_models_source == POSE_CACHE else "the pose models are in the bundle")
        return (f"pose: BlazePose keypoints -> {b.feature_dim} features per frame -> head "
                f"(person-invariant; {where}; no label where fewer than {b.min_found_fraction:.0%} of a "
                "window's frames have a pose)")
    return "cnn: pixels (the frame itself)"


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, int | float) else "n/a"


def _tensor_text(t: TensorInfo) -> str:
    q = f" (scale {t.scale:.6g}, zero point {t.zero_point})" if t.quantized else ""
    return f"{t.dtype}{list(t.shape)}{q}"


def _counts(ops: list[str]) -> str:
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())
