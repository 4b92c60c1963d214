"""``har export``'s entry: a trained model folder -> a bundle (and the variants ``har bench`` compares).

The stages, each in its own module: :mod:`har.models.folder` reads the model
folder, :mod:`har.export.data` reloads its calibration and test data from the
recorded split, :mod:`har.export.worker` runs the TensorFlow conversion in a
subprocess, :mod:`har.export.bundle` writes the bundle, and
:mod:`har.export.report` adds the short parity check. A pose model folder is
handed to :mod:`har.export.pose` by ``har export`` (:mod:`har.export.cli`).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.edge.bundle import QUANT_MODES
from har.export.bundle import assemble_bundle, check_out_dir, pixel_embedding_section
from har.export.checks import check_quant, load_model_dir
from har.export.data import calibration_clips, load_splits
from har.export.errors import ExportError
from har.export.worker import Conversion, bundle_files, convert_models, targets_for

log = logging.getLogger(__name__)


def export_bundle(model_dir: str | Path, out_dir: str | Path, quant: str = "int8", representative_samples: int = 200,
                  log: Callable[[str], None] = log.info) -> Path:
    """Export ``model_dir`` as a bundle in ``out_dir`` (window model, streaming pair for LRCN, metadata).

    int8 calibrates on up to ``representative_samples`` training clips. Pose
    model folders go to :func:`har.export.pose.export_pose` (``har export`` dispatches).
    """
    md = load_model_dir(model_dir)
    if md.is_pose:
        raise ExportError(f"{md.path} is a pose model: export it with har.export.pose.export_pose (`har export` "
                          "picks it by itself)")
    check_quant(quant)
    check_out_dir(out_dir)
    calibration = None
    if quant == "int8":
        train_x, _ = load_splits(md, test=False)
        calibration = calibration_clips(md, train_x, representative_samples)
    work = Path(tempfile.mkdtemp(prefix="har-export-"))
    log(f"converting {md.path} ({md.family}) to {quant} TFLite")
    conv = convert_models(md, work, targets_for(md, [quant]), calibration=calibration)
    files = bundle_files(md, conv, quant)
    embedding = pixel_embedding_section(md, files, calibration) if calibration is not None else None
    path = assemble_bundle(md, Path(out_dir), quant, files, conv, embedding)
    shutil.rmtree(work, ignore_errors=True)
    log(f"wrote bundle {path}")
    return path


def export_all_variants(model_dir: str | Path, work_dir: str | Path, representative_samples: int = 200,
                        test_x: np.ndarray | None = None, train_x: np.ndarray | None = None,
                        keras_latency_threads: tuple[int, ...] = (1, 2),
                        streaming_quants: tuple[str, ...] = ("fp32", "int8"),
                        log: Callable[[str], None] = log.info) -> Conversion:
    """Convert the window model in every mode and the streaming pair in ``streaming_quants``, for the report.

    With ``test_x`` the Keras model's probabilities on it come back too (the
    reference every variant is compared with). ``train_x`` avoids loading the
    training split again when the caller already has it.
    """
    md = load_model_dir(model_dir)
    if train_x is None:
        train_x, _ = load_splits(md, test=False)
    calibration = calibration_clips(md, train_x, representative_samples)
    log(f"converting {md.path} ({md.family}) to {', '.join(QUANT_MODES)} TFLite")
    return convert_models(md, Path(work_dir), targets_for(md, list(QUANT_MODES), sorted(set(streaming_quants))),
                          calibration=calibration, evaluate=test_x, keras_latency_threads=keras_latency_threads)
