"""``har export``: a trained model directory -> TFLite bundle, plus the parity report.

Mounted on the ``har`` app by :func:`register` (from :mod:`har.cli.main`). TensorFlow is only imported by the
conversion subprocess, so ``har export --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.edge.bench import parse_threads


def export_cmd(
    model: Annotated[Path, typer.Option(help="Trained model directory (artifacts/<model>).")] = Path("artifacts/lrcn"),
    quant: Annotated[str, typer.Option(help="int8 (full integer), dynamic (int8 weights), fp16 or fp32.")] = "int8",
    out: Annotated[Path, typer.Option(help="Bundle directory to write (replaced if it holds a bundle).")]
    = Path("artifacts/bundle"),
    report: Annotated[bool, typer.Option("--report/--no-report",
                                         help="Also convert every variant and write report.json/report.md, "
                                              "measured on the model's held-out test split.")] = True,
    threads: Annotated[str, typer.Option(help="Thread counts the report times, comma-separated.")] = "1,2",
    samples: Annotated[int, typer.Option(help="Training clips used to calibrate int8.")] = 200,
    pose_models: Annotated[str, typer.Option(help="Pose bundles: 'copy' the two BlazePose models into the bundle "
                                                  "(9 MB, self-contained), or 'cache': the device takes them from "
                                                  "its verified pose cache (har-edge models fetch pose), a bundle "
                                                  "of tens of KB.")] = "copy",
) -> None:
    """Export a trained model to a TFLite bundle for the device (har-edge).

    The bundle holds model.tflite, the streaming encoder.tflite + head.tflite
    (LRCN), and metadata.json with labels, sampling rule, quantization and
    hashes. int8 is calibrated on training clips only. A pose model
    (har train --encoder pose) gives a pose bundle: head.tflite on keypoint
    features plus the two pose models, or with --pose-models cache only a
    reference to them in the device's pose cache (docs/pose.md).

    Example: har export --model artifacts/lrcn --quant int8 --out artifacts/bundle
    """
    from har.edge.bundle import load_bundle
    from har.export.checks import check_quant
    from har.export.errors import ExportError
    from har.export.pose import check_pose_models_mode, export_pose, is_pose_model_dir
    from har.export.report import export_with_report
    from har.export.tflite import export_bundle

    check_quant(quant)
    parse_threads(threads)
    if samples < 1:
        raise ExportError(f"--samples must be at least 1, not {samples}")
    check_pose_models_mode(pose_models)
    if pose_models != "copy" and not is_pose_model_dir(model):
        raise ExportError(f"--pose-models {pose_models} is for pose models (har train --encoder pose); "
                          f"{model} is not one")
    if is_pose_model_dir(model):
        path, rep = export_pose(model, out, quant, samples, report, log=typer.echo, pose_models=pose_models)
    elif report:
        path, rep = export_with_report(model, out, quant, samples, parse_threads(threads), log=typer.echo)
    else:
        path, rep = export_bundle(model, out, quant, samples, log=typer.echo), None
    bundle = load_bundle(path)
    sizes = ", ".join(f"{m.file} {m.bytes / 1024:.1f} KiB" + (" (from the pose cache)" if m.source != "bundle" else "")
                      for m in bundle.models.values())
    typer.echo(f"bundle {path}: {bundle.quantization}, {len(bundle.labels)} labels, {sizes}")
    if rep:
        for g in rep["goals"].values():
            if g["value"] is not None:
                state = "met" if g["met"] else "NOT met"
                typer.echo(f"  {g['description']}: {g['value']:.4g} (target {g['target']}, {state})")
        typer.echo(f"report {path / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the ``har`` app."""
    app.command("export")(export_cmd)
