"""``har export``: a trained model directory -> TFLite bundle, plus the bundle's parity check.

Mounted on the ``har`` app by :func:`register` (from :mod:`har.cli.main`). TensorFlow is only imported by the
conversion subprocess, so ``har export --help`` stays instant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def export_cmd(
    model: Annotated[Path, typer.Option(help="Trained model directory (artifacts/<model>).")] = Path("artifacts/lrcn"),
    quant: Annotated[str, typer.Option(help="int8 (full integer), dynamic (int8 weights), fp16 or fp32.")] = "int8",
    out: Annotated[Path, typer.Option(help="Bundle directory to write (replaced if it holds a bundle).")]
    = Path("artifacts/bundle"),
    report: Annotated[bool, typer.Option("--report/--no-report",
                                         help="Check the bundle's models against Keras on the model's held-out "
                                              "test split and write report.json/report.md into the bundle.")]
    = True,
    threads: Annotated[str | None, typer.Option(hidden=True, help="No longer used: latency is `har bench`'s.")]
    = None,
    samples: Annotated[int, typer.Option(help="Training clips used to calibrate int8.")] = 200,
    pose_models: Annotated[str, typer.Option(help="Pose bundles: 'copy' the two BlazePose models into the bundle "
                                                  "(9 MB, self-contained), or 'cache': the device takes them from "
                                                  "its verified pose cache (har-edge models fetch pose), a bundle "
                                                  "of tens of KB.")] = "copy",
) -> None:
    """Export a trained model to a TFLite bundle for the device (har-edge).

    The bundle holds model.tflite, the streaming encoder.tflite + head.tflite
    (LRCN), and metadata.json with labels, sampling rule, quantization and
    hashes. int8 is calibrated on training clips only. Then the bundle's own
    models are checked against Keras on the held-out test split (report.json,
    report.md); every other variant, and latency, is `har bench`'s. A pose model
    (har train --encoder pose) gives a pose bundle: head.tflite on keypoint
    features plus the two pose models, or with --pose-models cache only a
    reference to them in the device's pose cache (docs/pose.md).

    Example: har export --model artifacts/lrcn --quant int8 --out artifacts/bundle
    """
    from har.edge.bundle import load_bundle
    from har.export.checks import check_quant
    from har.export.errors import ExportError
    from har.export.pose import check_pose_models_mode, export_pose, is_pose_model_dir
    from har.export.report import summary_lines
    from har.export.tflite import export_checked

    check_quant(quant)
    if threads is not None:
        typer.echo("--threads is ignored: `har export` times nothing; latency per variant and thread count moved "
                   "to `har bench --threads`")
    if samples < 1:
        raise ExportError(f"--samples must be at least 1, not {samples}")
    check_pose_models_mode(pose_models)
    if pose_models != "copy" and not is_pose_model_dir(model):
        raise ExportError(f"--pose-models {pose_models} is for pose models (har train --encoder pose); "
                          f"{model} is not one")
    if is_pose_model_dir(model):
        path, rep = export_pose(model, out, quant, samples, report, log=typer.echo, pose_models=pose_models)
    else:
        path, rep = export_checked(model, out, quant, samples, check=report, log=typer.echo)
    bundle = load_bundle(path)
    sizes = ", ".join(f"{m.file} {m.bytes / 1024:.1f} KiB" + (" (from the pose cache)" if m.source != "bundle" else "")
                      for m in bundle.models.values())
    typer.echo(f"bundle {path}: {bundle.quantization}, {len(bundle.labels)} labels, {sizes}")
    if rep:
        for line in summary_lines(rep):
            typer.echo(f"  {line}")
        typer.echo(f"report {path / 'report.md'}")


def register(app: typer.Typer) -> None:
    """Add the ``export`` command to the ``har`` app."""
    app.command("export")(export_cmd)
