"""Load a bundle: its metadata, every file against its sha256, every model's real tensors against the metadata."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

from har.edge.bundle.parse import parse_bundle, read_metadata, short
from har.edge.bundle.schema import (
    EDGETPU_SUFFIX,
    METADATA_FILE,
    POSE_CACHE,
    READABLE_VERSIONS,
    SCHEMA,
    Bundle,
    BundleError,
    ModelInfo,
)
from har.edge.digest import sha256_file
from har.edge.errors import first_line
from har.edge.litert import EMBEDDING_OUTPUT, TensorInfo, model_tensors, tensor_text


def load_bundle(path: str | Path) -> Bundle:
    """Read and validate a bundle directory; raises :class:`BundleError` with one clear sentence."""
    path = Path(path)
    meta_path = path / METADATA_FILE
    if not path.is_dir():
        raise BundleError(f"bundle {path} does not exist; export one with `har export --model artifacts/lrcn`")
    if not meta_path.is_file():
        raise BundleError(f"{path} is not a bundle: it has no {METADATA_FILE} (export one with `har export`)")
    meta = read_metadata(meta_path)
    if meta.get("schema") != SCHEMA:
        raise BundleError(f"{meta_path} is not a har-edge bundle (schema {short(meta.get('schema'))}, "
                          f"expected {SCHEMA!r})")
    version = meta.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:  # True == 1 in Python, not in a bundle
        raise BundleError(f"bundle {path} has schema version {short(version)} but this har-edge reads versions "
                          f"{', '.join(map(str, READABLE_VERSIONS))}; re-export it with this version of har")
    bundle = parse_bundle(path, meta)
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
    p = bundle_dir / info.file
    # The pinned pose models are Google's files, verified by now (against metadata.json, whose pose hashes the
    # parser holds to the pins, or in the pose cache): a run on zeros would prove nothing and cost start-up time.
    from har.edge.pose.lite import PINNED_SHA256

    try:
        inputs, outputs = model_tensors(p, invoke=info.sha256 not in PINNED_SHA256)
    except (ValueError, RuntimeError) as e:
        raise BundleError(f"model {info.name!r} ({p}) is not a TFLite model this runtime can load "
                          f"({first_line(e)}); re-export the bundle") from None
    single = info.name in ("window", "encoder", "head", "embed")
    n_out = 1 if info.embedding is None else 2  # model_tensors puts the head's embedding output last
    if not inputs or not outputs or (single and (len(inputs), len(outputs)) != (1, n_out)):
        want = "one input and two outputs (probabilities, embedding)" if n_out == 2 else "one of each"
        raise BundleError(f"model {info.name!r} ({p}) has {len(inputs)} inputs and {len(outputs)} outputs, "
                          f"not the {want} that {METADATA_FILE} lists for it; re-export the bundle")
    pairs = [("input", inputs[0], info.input), ("output", outputs[0], info.output)]
    if info.embedding is not None:
        pairs.append((f"{EMBEDDING_OUTPUT!r} output", outputs[1], info.embedding))
    for side, real, recorded in pairs:
        if not _same_tensor(real, recorded):
            raise BundleError(f"model {info.name!r} ({info.file}) {side} is {tensor_text(real)} but "
                              f"{METADATA_FILE} says {tensor_text(recorded)}; the metadata does not describe "
                              "this model, re-export the bundle")
    if info.embedding is not None and outputs[1].name != EMBEDDING_OUTPUT:  # the device takes it by its name
        raise BundleError(f"model {info.name!r} ({info.file}) has two outputs but none named "
                          f"{EMBEDDING_OUTPUT!r}, so the embedding cannot be told apart; re-export the bundle")


def _same_tensor(real: TensorInfo, recorded: TensorInfo) -> bool:
    if (real.shape, real.dtype) != (recorded.shape, recorded.dtype) or real.quantized != recorded.quantized:
        return False
    return not real.quantized or (real.zero_point == recorded.zero_point
                                  and math.isclose(real.scale, recorded.scale, rel_tol=1e-6))
