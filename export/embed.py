"""Give an existing bundle's head its embedding output, in place (``make default-embed``).

Why: bundles exported before the head carried its penultimate layer as a
second output (the default model shipped with the package was one) either
have no embedding or a separate ``embed.tflite``, a second LSTM pass over
every window. This rewrites ``head.tflite`` with the ``embedding`` output
(:mod:`har.export.head_embedding`: no op, weight or quantization changes,
so the head's probabilities, and every score measured with them, stay bit
for bit) and drops ``embed.tflite``. For a pose bundle it recomputes the
base references (``metadata.json`` ``embedding``) from the head's own
embedding on generated windows of *training* actors (generator seed 0, the
first ``actors``), never the ones evaluations use; a pixel bundle's
float head gives the values its float ``embed.tflite`` gave, so its
references stay. Enrolment files made before are bound to the old metadata
and are refused; enrol again.

Usage: ``python -m har.cli.embed edge/default_model`` (``make default-embed``), which hands in the
generated calibration windows (the generator is training code, which export never imports).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, load_bundle, model_entry, write_metadata
from har.edge.interpreter import TfliteModel
from har.export.bundle import check_builtin_only, section_for
from har.export.errors import ExportError
from har.export.head_embedding import HeadEmbeddingError, add_embedding_output


def add_embedding(bundle_dir: str | Path,
                  calibration_features: Callable[[list[str], int, float], np.ndarray] | None = None) -> Path:
    """Rewrite ``bundle_dir``'s head with its embedding output and record it in the metadata.

    A pose bundle's base references need ``calibration_features(labels, seq_len, interval_s)``: head inputs of
    training data.
    """
    bundle = load_bundle(bundle_dir)
    if "head" not in bundle.models:
        raise ExportError(f"{bundle.path} has no streaming head to give an embedding output; re-export it")
    head = bundle.path / MODEL_FILES["head"]
    try:
        data = add_embedding_output(head.read_bytes())
    except HeadEmbeddingError as e:
        raise ExportError(f"{head}: {e}") from None
    old = head.read_bytes()
    _write(head, data)
    try:
        model = TfliteModel(head)
        meta = json.loads(json.dumps(bundle.metadata))
        meta["models"]["head"] = model_entry(head, model.input, model.output, check_builtin_only(head),
                                             bundle.models["head"].quantization, embedding=model.embedding_output)
        meta["models"].pop("embed", None)
        if bundle.is_pose:
            if calibration_features is None:
                raise ExportError(f"{bundle.path} is a pose bundle: its references need calibration windows")
            feats = calibration_features(bundle.labels, bundle.seq_len, bundle.interval_s or 0.1)
            meta["embedding"] = section_for(head, feats, bundle.labels)
        write_metadata(bundle.path, meta)
    except BaseException:
        _write(head, old)  # the bundle stays as it was
        raise
    (bundle.path / MODEL_FILES["embed"]).unlink(missing_ok=True)
    return bundle.path


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".head-", suffix=".tflite")
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
