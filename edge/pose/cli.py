"""``models fetch pose``: the same command on ``har`` (workstation) and ``har-edge`` (device).

Both need the pose models (training estimates keypoints, the device runs
them), and the fetch needs nothing but pip, so it lives with the edge runtime
and :func:`register` mounts it on either app.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer


class Fetchable(StrEnum):
    pose = "pose"
    pose_lite = "pose-lite"


def fetch_cmd(
    name: Annotated[Fetchable, typer.Argument(help="What to fetch: 'pose' (BlazePose detector + landmarks), "
                                                   "'pose-lite' (the lite landmark model, with npm).")],
    cache_dir: Annotated[Path | None, typer.Option(
        help="Folder to keep the models in (default: $XDG_CACHE_HOME/har/pose, else ~/.cache/har/pose).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if verified copies are cached.")]
    = False,
) -> None:
    """Download pretrained models once and keep them in the cache, verified by SHA-256.

    'pose' takes pose_detection.tflite and pose_landmark_full.tflite (Google,
    Apache-2.0) out of the mediapipe 0.10.21 wheel on PyPI without installing
    mediapipe. Needs access to PyPI; copy the cache folder to offline devices.
    'pose-lite' takes pose_landmark_lite.tflite out of Google's @mediapipe/pose
    package with `npm pack` (the PyPI wheel does not carry it).

    Example: har models fetch pose
    """
    from har.edge.digest import sha256_file
    from har.edge.pose.assets import PoseModelsError, fetch_pose_models, interactive
    from har.edge.pose.lite import fetch_lite_landmarks

    try:
        if name == Fetchable.pose_lite:
            paths = [fetch_lite_landmarks(cache_dir, force=force)]
        else:
            models = fetch_pose_models(cache_dir, force=force, progress=interactive())
            paths = [models.detector, models.landmarks]
    except PoseModelsError as e:
        typer.secho(f"error: {e}", fg="red", err=True)
        raise typer.Exit(2) from None
    for path in paths:
        typer.echo(f"{path}  {path.stat().st_size / 2**20:.1f} MiB  sha256 {sha256_file(path)[:16]}... verified")


def register(app: typer.Typer) -> None:
    """Add the ``models`` group (``models fetch pose``) to ``app``."""
    models_app = typer.Typer(help="Fetch and check pretrained models the pipeline uses.", no_args_is_help=True)
    models_app.command("fetch")(fetch_cmd)
    app.add_typer(models_app, name="models")
