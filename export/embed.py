"""Give an existing pose bundle its embedding model from the head's float weights.

Why: bundles exported before ``embed.tflite`` existed (the default model
shipped with the package is one) keep their head, labels and scores; only
the embedding ``har-edge enroll`` needs is added. The head's float weights
travel beside it as ``head.weights.npz`` (``har.train.pose_init``), so the
LSTM is rebuilt from them in the conversion worker, converted like every
embedding (``har.export.convert_worker.lstm_embed``: fused LSTM, full int8
for an int8 bundle) and calibrated on generated windows of *training*
actors (generator seed 0, the first ``actors``), never the ones evaluations
use. ``head.tflite`` is left byte for byte as it was.

Usage: ``python -m har.cli.embed edge/default_model`` (``make default-embed``), which hands in the
generated calibration windows (the generator is training code, which export never imports).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, load_bundle, model_entry, write_metadata
from har.edge.interpreter import TfliteModel
from har.export.bundle import check_builtin_only, section_for
from har.export.errors import ExportError
from har.export.worker import run_worker


def add_embedding(bundle_dir: str | Path, weights: str | Path | None = None,
                  calibration_features: Callable[[list[str], int, float], np.ndarray] | None = None) -> Path:
    """Convert the embedding of ``bundle_dir``'s head from ``weights`` and record it in its metadata.

    An int8 bundle needs ``calibration_features(labels, seq_len, interval_s)``: head inputs of training data.
    """
    bundle = load_bundle(bundle_dir)
    if not bundle.is_pose:
        raise ExportError(f"{bundle.path} is not a pose bundle; re-export a pixel bundle to give it an embedding")
    weights = Path(weights or bundle.path / "head.weights.npz")
    if not weights.is_file():
        raise ExportError(f"{weights} does not exist; the embedding is rebuilt from the head's float weights")
    quant = bundle.models["head"].quantization or bundle.quantization
    work = Path(tempfile.mkdtemp(prefix="har-embed-"))
    try:
        out = work / "embed.tflite"
        spec = {"model_dir": str(bundle.path), "weights": str(weights), "family": "pose_lstm",
                "num_classes": bundle.num_classes, "seq_len": bundle.seq_len, "size": None,
                "feature_dim": bundle.feature_dim, "targets": [{"graph": "embed", "quant": quant, "path": str(out)}]}
        if quant == "int8":
            if calibration_features is None:
                raise ExportError(f"{bundle.path} is int8: its embedding needs calibration windows")
            np.savez(work / "calibration.npz", clips=calibration_features(bundle.labels, bundle.seq_len,
                                                                          bundle.interval_s or 0.1))
            spec["calibration"] = str(work / "calibration.npz")
        run_worker(spec, work)
        dst = bundle.path / MODEL_FILES["embed"]
        shutil.copyfile(out, dst)
        model = TfliteModel(dst)
        meta = json.loads(json.dumps(bundle.metadata))
        meta["models"]["embed"] = model_entry(dst, model.input, model.output, check_builtin_only(dst), quant)
        if quant == "int8":
            meta["embedding"] = section_for(bundle.path / MODEL_FILES["head"], dst,
                                            np.load(work / "calibration.npz")["clips"], bundle.labels)
        write_metadata(bundle.path, meta)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bundle.path
