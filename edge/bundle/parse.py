"""Read ``metadata.json`` into a :class:`Bundle`, checking it against itself.

Every field is checked for type and range, and the recorded tensor shapes
against the labels, ``seq_len`` and frame size: a metadata.json edited by
hand (another seq_len, a label added) must be refused here, before the model
files are even opened.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

from har.edge.bundle.schema import (
    COLOR_ORDERS,
    DEFAULT_MIN_FOUND_FRACTION,
    EDGETPU_SUFFIX,
    ENCODER_KINDS,
    MAX_FRAME_SIZE,
    MAX_INTERVAL_S,
    MAX_METADATA_BYTES,
    MAX_SEQ_LEN,
    MAX_WINDOW_BYTES,
    METADATA_FILE,
    MODEL_FILES,
    MODEL_SOURCES,
    POSE_CACHE,
    POSE_CACHE_FILES,
    POSE_MODELS,
    QUANT_MODES,
    SAMPLING_MODES,
    Bundle,
    BundleError,
    ModelInfo,
)
from har.edge.litert import TensorInfo
from har.edge.preprocess import NORMALIZATIONS

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


def read_metadata(meta_path: Path) -> dict:
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


def short(value: Any) -> str:
    """``repr`` cut to a readable length: values quoted in errors may come from a hostile file."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def parse_bundle(path: Path, meta: dict) -> Bundle:
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
                              f"{MAX_INTERVAL_S:g} s, not {short(interval_s)}")
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
        if info.embedding is not None and name != "head":
            raise BundleError(f"{where}: only the head has an embedding output, not model {name!r}")
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
    """The embedding (the head's second output, or an older bundle's model) is one ``(1, D)`` vector."""
    embed, head = models.get("embed"), models.get("head")
    if head is not None and head.embedding is not None:
        if embed is not None:
            raise BundleError(f"{where}: the head has an embedding output and embed.tflite is listed too; a bundle "
                              "has one of them, re-export it")
        shape = head.embedding.shape
        if len(shape) != 2 or shape[0] != 1:
            raise BundleError(f"{where}: model 'head' gives an embedding of shape {list(shape)}, but it must be one "
                              "vector [1, D]; re-export the bundle")
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
        if name in ("embed", "head"):
            _check_embed(models, expected["head"][0], where)
        if name == "embed":
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
    embedding = _tensor(entry, "embedding", name, where) if "embedding" in entry else None
    return ModelInfo(name, file, sha, size, _tensor(entry, "input", name, where),
                     _tensor(entry, "output", name, where), tuple(str(o) for o in ops), quant, source, embedding)


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
        raise BundleError(f"{where}: {key!r} must be {kind.__name__}, not {short(value)}")
    return value


def _positive_int(d: dict, key: str, where: str, most: int) -> int:
    value = _field(d, key, int, where)
    if not 1 <= value <= most:
        raise BundleError(f"{where}: {key!r} must be from 1 to {most}, not {short(value)}")
    return value


def _choice(d: dict, key: str, allowed: tuple[str, ...], where: str) -> str:
    value = _field(d, key, str, where)
    if value not in allowed:
        raise BundleError(f"{where}: {key} {short(value)} is not supported by this har-edge (known: "
                          f"{', '.join(allowed)})")
    return value
