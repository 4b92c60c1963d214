"""``har export``'s entry: a trained model folder -> a bundle, and the bundle's parity check.

The stages, each in its own module: :mod:`har.models.folder` reads the model
folder, :mod:`har.export.data` reloads its calibration and test data from the
recorded split, :mod:`har.export.worker` runs the TensorFlow conversion in a
subprocess, :mod:`har.export.bundle` writes the bundle, and
:mod:`har.export.report` checks the bundle against Keras. A pose model
folder is handed to :mod:`har.export.pose` by ``har export``
(:mod:`har.export.cli`). Every other variant is converted, scored and timed
by ``har bench`` (:mod:`har.export.bench`), not here.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from har.export.bundle import assemble_bundle, check_out_dir, pixel_embedding_section
from har.export.checks import check_quant, load_model_dir
from har.export.data import calibration_clips, load_splits
from har.export.errors import ExportError
from har.export.report import check_bundle, write_report
from har.export.worker import bundle_files, convert_models, targets_for

log = logging.getLogger(__name__)


def export_bundle(model_dir: str | Path, out_dir: str | Path, quant: str = "int8", representative_samples: int = 200,
                  log: Callable[[str], None] = log.info) -> Path:
    """Export ``model_dir`` as a bundle in ``out_dir`` (window model, streaming pair for LRCN, metadata).

    int8 calibrates on up to ``representative_samples`` training clips. Pose
    model folders go to :func:`har.export.pose.export_pose` (``har export`` dispatches).
    """
    return export_checked(model_dir, out_dir, quant, representative_samples, check=False, log=log)[0]


def export_checked(model_dir: str | Path, out_dir: str | Path, quant: str = "int8", representative_samples: int = 200,
                   check: bool = True, log: Callable[[str], None] = log.info) -> tuple[Path, dict | None]:
    """:func:`export_bundle`, then (with ``check``) the bundle's parity check written into it.

    The Keras reference runs in the same conversion worker, so the check
    costs one pass of the bundle's models over the test split and no second
    TensorFlow start.
    """
    md = load_model_dir(model_dir)
    if md.is_pose:
        raise ExportError(f"{md.path} is a pose model: export it with har.export.pose.export_pose (`har export` "
                          "picks it by itself)")
    check_quant(quant)
    check_out_dir(out_dir)
    clips, test = None, None  # training clips: int8 calibration and har-edge enroll's base references
    if quant == "int8" or check:  # a folder without its data still exports to fp32 with --no-report
        train_x, test = load_splits(md, test=check)
        clips = calibration_clips(md, train_x, representative_samples)
    work = Path(tempfile.mkdtemp(prefix="har-export-"))
    try:
        log(f"converting {md.path} ({md.family}) to {quant} TFLite")
        conv = convert_models(md, work, targets_for(md, [quant]), calibration=clips if quant == "int8" else None,
                              evaluate=test[0] if check else None)
        files = bundle_files(md, conv, quant)
        embedding = pixel_embedding_section(md, files, clips) if clips is not None else None
        path = assemble_bundle(md, Path(out_dir), quant, files, conv, embedding)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote bundle {path}")
    report = None
    if check:
        log(f"checking the bundle against Keras on {len(test[1])} held-out test clips")
        report = check_bundle(md, path, conv, *test)
        write_report(report, path)
    return path, report
