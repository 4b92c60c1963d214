"""Write a bundle's ``metadata.json`` (``har export`` does), and read it back so a bad one is never left behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from har.edge.bundle.load import load_bundle
from har.edge.bundle.schema import (
    EDGETPU_SUFFIX,
    METADATA_FILE,
    PIXEL_SCHEMA_VERSION,
    SCHEMA,
    SCHEMA_VERSION,
    Bundle,
    BundleError,
)
from har.edge.digest import sha256_file
from har.edge.litert import TensorInfo


def model_entry(path: Path, input: TensorInfo, output: TensorInfo, ops: list[str],
                quantization: str | None = None, source: str = "bundle", embedding: TensorInfo | None = None) -> dict:
    """The ``models.<name>`` entry of ``metadata.json`` for the file at ``path``.

    ``source="pose-cache"`` records a pose model that stays in the pose cache
    (``path`` is the cached file); the entry then says so and the bundle
    folder holds no copy. ``embedding`` records a head's second output.
    """
    path = Path(path)
    return {"file": path.name, "sha256": sha256_file(path), "bytes": path.stat().st_size,
            "quantization": quantization, "input": input.to_dict(), "output": output.to_dict(),
            **({"embedding": embedding.to_dict()} if embedding is not None else {}),
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
