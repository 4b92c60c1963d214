"""The two BlazePose model files: fetched once from PyPI, verified every time they are used.

Google publishes ``pose_detection.tflite`` and ``pose_landmark_full.tflite``
(Apache-2.0) inside the ``mediapipe`` wheel. Installing mediapipe for two files
would pull a large native package onto a Raspberry Pi, so
:func:`fetch_pose_models` asks pip to *download* one pinned wheel (no install,
no dependencies), reads the two files out of the zip and keeps them in a
cache folder. Every platform's wheel of a release holds byte-identical model
files, so the same platform tags are asked for whatever machine runs the
fetch (a Raspberry Pi included, for which mediapipe 0.10.21 has no wheel).

The SHA-256 of each file is pinned here: a fetch that yields other bytes, or a
cached file changed since, is refused instead of producing wrong keypoints.

Cache folder: ``$XDG_CACHE_HOME/har/pose`` (default ``~/.cache/har/pose``),
or ``cache_dir`` where a function takes one. A device without internet access
can use files fetched elsewhere: copy the two ``.tflite`` files into its cache
folder.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from har.edge.bundle import sha256_file
from har.edge.cache import cache_root
from har.edge.errors import HarError

log = logging.getLogger(__name__)

MEDIAPIPE_VERSION = "0.10.21"
#: Platforms whose wheel pip may pick (any: they hold the same model files), for this CPython version.
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "macosx_11_0_universal2", "win_amd64")
WHEEL_PYTHON = "3.12"


@dataclass(frozen=True)
class _Asset:
    member: str  # path inside the wheel
    sha256: str
    size: int


#: Cached file name -> where it is in the wheel and what it must hash to.
ASSETS = {
    "pose_detection.tflite": _Asset("mediapipe/modules/pose_detection/pose_detection.tflite",
                                    "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2_959_046),
    "pose_landmark_full.tflite": _Asset("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                                        "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6_440_512),
}
FETCH_HINT = "run `har models fetch pose` (or `har-edge models fetch pose` on the device)"


class PoseModelsError(HarError, OSError):
    """The pose models are missing, altered, or cannot be fetched; the message says what to do."""


@dataclass(frozen=True)
class PoseModels:
    """Paths of the two verified model files."""

    detector: Path
    """``pose_detection.tflite``: person boxes and 4 alignment keypoints (224x224 input)."""
    landmarks: Path
    """``pose_landmark_full.tflite``: 33 body + auxiliary landmarks on a 256x256 crop."""


def default_cache_dir() -> Path:
    """``$XDG_CACHE_HOME/har/pose``, or ``~/.cache/har/pose`` when XDG_CACHE_HOME is unset or empty."""
    return cache_root() / "pose"


def _models(folder: Path) -> PoseModels:
    return PoseModels(folder / "pose_detection.tflite", folder / "pose_landmark_full.tflite")


def _verify(path: Path, asset: _Asset) -> None:
    digest = sha256_file(path)
    if digest != asset.sha256:
        raise PoseModelsError(f"{path} is not the pose model this version expects (sha256 {digest[:12]}..., "
                              f"expected {asset.sha256[:12]}...); delete it and {FETCH_HINT}")


def pose_models(cache_dir: str | Path | None = None) -> PoseModels:
    """The cached model files, each checked against its pinned SHA-256; never goes online.

    Raises :class:`PoseModelsError` when a file is missing (with the command
    that fetches it) or differs from the pinned hash (tampered or truncated).
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise PoseModelsError(f"the pose models are not in {folder} (missing {', '.join(missing)}); {FETCH_HINT} "
                              "on a machine with access to PyPI, or copy the two files there from one that has them")
    for name, asset in ASSETS.items():
        _verify(folder / name, asset)
    return _models(folder)


def _download_wheel(dest: Path, folder: Path) -> Path:
    """pip-download the pinned mediapipe wheel (any of :data:`WHEEL_PLATFORMS`) into ``dest``."""
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
           "--only-binary=:all:", "--python-version", WHEEL_PYTHON, "--implementation", "cp",
           "--dest", str(dest), "--quiet"]
    for platform_tag in WHEEL_PLATFORMS:
        cmd += ["--platform", platform_tag]
    log.info("downloading mediapipe %s from PyPI for its two pose models (about 35 MB)", MEDIAPIPE_VERSION)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        problem = None
    except subprocess.TimeoutExpired:
        proc, problem = None, "pip download timed out after 600 s"
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if proc is not None and proc.returncode == 0 and wheels:
        return wheels[0]
    if proc is not None:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout or "").splitlines() if ln.strip()]
        problem = lines[-1] if lines else f"pip exited with {proc.returncode}"
    raise PoseModelsError(f"could not download mediapipe=={MEDIAPIPE_VERSION} from PyPI ({problem}); is this "
                          "machine offline or is pip missing? Fetch on a machine with access to PyPI and copy "
                          f"{' and '.join(ASSETS)} into {folder}")


def _extract(wheel: Path, folder: Path) -> None:
    """Copy each asset out of the wheel, verified, into ``folder`` (write to a temp file, then rename)."""
    try:
        zf = zipfile.ZipFile(wheel)
    except zipfile.BadZipFile:
        raise PoseModelsError(f"{wheel.name} downloaded by pip is not a valid wheel; run the fetch again") from None
    with zf:
        for name, asset in ASSETS.items():
            try:
                source = zf.open(asset.member)
            except KeyError:
                raise PoseModelsError(f"{wheel.name} has no {asset.member}; the pinned mediapipe release "
                                      "changed on the index, please report it") from None
            fd, tmp = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
            try:
                with source, os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(source, out)
                _verify(Path(tmp), asset)
                os.chmod(tmp, 0o644)  # mkstemp makes it private; the models are not secret
                os.replace(tmp, folder / name)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)


def fetch_pose_models(cache_dir: str | Path | None = None, force: bool = False) -> PoseModels:
    """Download the pinned mediapipe wheel, extract and verify the two models, and cache them.

    Returns at once, without network, when the cache already holds verified
    copies (unless ``force``). Needs pip and access to PyPI; the wheel (about
    35 MB) is downloaded to a temporary folder and deleted afterwards.
    """
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    if not force:
        try:
            return pose_models(folder)
        except PoseModelsError:
            pass
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PoseModelsError(f"cannot create the cache folder {folder} ({e.strerror}); pass another --cache-dir") \
            from None
    with tempfile.TemporaryDirectory(prefix="har-pose-") as tmp:
        _extract(_download_wheel(Path(tmp), folder), folder)
    log.info("pose models verified and cached in %s", folder)
    return pose_models(folder)
