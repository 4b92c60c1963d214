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

Bundles that take their pose models from this cache (the default model among
them) resolve them with :func:`ensure_pose_models`: on an interactive run a
missing pair is fetched then and there, with a progress bar, so the first
``har-edge run`` just works; a service or a pipe gets the sentence that says
how to get them instead of a download it did not ask for.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from har.edge.pose.pinned import (  # noqa: F401 - PoseModelsError and default_cache_dir are imported from here
    PinnedFile,
    PoseModelsError,
    cache_folder,
    cached_or_fetch,
    default_cache_dir,
    install,
)
from har.edge.pose.pinned import verify as _verify_pinned

log = logging.getLogger(__name__)

MEDIAPIPE_VERSION = "0.10.21"
#: Platforms whose wheel pip may pick (any: they hold the same model files), for this CPython version.
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "macosx_11_0_universal2", "win_amd64")
WHEEL_PYTHON = "3.12"
#: About how many bytes pip downloads (the wheel): the progress bar's total; the bar ends full either way.
WHEEL_BYTES = 36_000_000
PIP_TIMEOUT_S = 600


#: Cached file name -> where it is in the wheel and what it must hash to.
ASSETS = {
    "pose_detection.tflite": PinnedFile("mediapipe/modules/pose_detection/pose_detection.tflite",
                                        "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c", 2_959_046),
    "pose_landmark_full.tflite": PinnedFile("mediapipe/modules/pose_landmark/pose_landmark_full.tflite",
                                            "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f", 6_440_512),
}
FETCH_HINT = "run `har models fetch pose` (or `har-edge models fetch pose` on the device)"


@dataclass(frozen=True)
class PoseModels:
    """Paths of the two verified model files."""

    detector: Path
    """``pose_detection.tflite``: person boxes and 4 alignment keypoints (224x224 input)."""
    landmarks: Path
    """``pose_landmark_full.tflite``: 33 body + auxiliary landmarks on a 256x256 crop."""


def _models(folder: Path) -> PoseModels:
    return PoseModels(folder / "pose_detection.tflite", folder / "pose_landmark_full.tflite")


def _verify(path: Path, asset: PinnedFile) -> None:
    _verify_pinned(path, asset, "the pose model", FETCH_HINT)


def pose_models(cache_dir: str | Path | None = None) -> PoseModels:
    """The cached model files, each checked against its pinned SHA-256; never goes online.

    Raises :class:`PoseModelsError` when a file is missing (with the command
    that fetches it) or differs from the pinned hash (tampered or truncated).
    """
    folder = cache_folder(cache_dir)
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if missing:
        raise PoseModelsError(f"the pose models are not in {folder} (missing {', '.join(missing)}); {FETCH_HINT} "
                              "on a machine with access to PyPI, or copy the two files there from one that has them")
    for name, asset in ASSETS.items():
        _verify(folder / name, asset)
    return _models(folder)


def _download_wheel(dest: Path, folder: Path, progress: bool = False) -> Path:
    """pip-download the pinned mediapipe wheel (any of :data:`WHEEL_PLATFORMS`) into ``dest``.

    With ``progress``, a progress bar on stderr follows the bytes pip has
    written so far: pip downloads into a temporary folder of its own, which
    is placed (``TMPDIR``) inside ``dest`` to be measured.
    """
    cmd = [sys.executable, "-m", "pip", "download", f"mediapipe=={MEDIAPIPE_VERSION}", "--no-deps",
           "--only-binary=:all:", "--python-version", WHEEL_PYTHON, "--implementation", "cp",
           "--dest", str(dest), "--quiet"]
    for platform_tag in WHEEL_PLATFORMS:
        cmd += ["--platform", platform_tag]
    log.info("downloading mediapipe %s from PyPI for its two pose models (about 35 MB)", MEDIAPIPE_VERSION)
    returncode, output = _run_pip(cmd, dest, progress)
    wheels = sorted(dest.glob("mediapipe-*.whl"))
    if returncode == 0 and wheels:
        return wheels[0]
    if returncode is None:
        problem = f"pip download timed out after {PIP_TIMEOUT_S} s"
    else:
        lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
        problem = lines[-1] if lines else f"pip exited with {returncode}"
    raise PoseModelsError(f"could not download mediapipe=={MEDIAPIPE_VERSION} from PyPI ({problem}); is this "
                          "machine offline or is pip missing? Fetch on a machine with access to PyPI and copy "
                          f"{' and '.join(ASSETS)} into {folder}", problem)


def _run_pip(cmd: list[str], dest: Path, progress: bool) -> tuple[int | None, str]:
    """Run pip with its output in a file (no pipe to fill); ``(returncode or None on timeout, output)``."""
    work = dest / ".pip-tmp"
    work.mkdir()
    log_path = dest / ".pip-output"
    with open(log_path, "w+") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, text=True,
                                env=dict(os.environ, TMPDIR=str(work)))
        try:
            if progress:
                _follow(proc, dest)
            proc.wait(timeout=PIP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None, ""
        out.seek(0)
        return proc.returncode, out.read()


def _follow(proc: subprocess.Popen, dest: Path) -> None:
    """A rich progress bar of the bytes under ``dest`` until ``proc`` ends (or the pip timeout passes)."""
    from rich.console import Console
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    deadline = time.monotonic() + PIP_TIMEOUT_S
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:
        task = bar.add_task(f"pose models: mediapipe {MEDIAPIPE_VERSION} wheel from PyPI", total=WHEEL_BYTES)
        while proc.poll() is None and time.monotonic() < deadline:
            bar.update(task, completed=min(_tree_bytes(dest), WHEEL_BYTES))
            time.sleep(0.2)
        if proc.poll() == 0:
            bar.update(task, completed=WHEEL_BYTES)


def _tree_bytes(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except OSError:  # pip renamed or removed it meanwhile
                pass
    return total


def _extract(wheel: Path, folder: Path) -> None:
    """Copy each asset out of the wheel, verified, into ``folder`` (:func:`har.edge.pose.pinned.install`)."""
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
            install(source, folder, name, asset, "the pose model", FETCH_HINT)


def fetch_pose_models(cache_dir: str | Path | None = None, force: bool = False,
                      progress: bool = False) -> PoseModels:
    """Download the pinned mediapipe wheel, extract and verify the two models, and cache them.

    Returns at once, without network, when the cache already holds verified
    copies (unless ``force``). Needs pip and access to PyPI; the wheel (about
    35 MB) is downloaded to a temporary folder and deleted afterwards.
    ``progress`` shows a progress bar on stderr meanwhile.
    """
    def fetch(folder: Path) -> None:
        with tempfile.TemporaryDirectory(prefix="har-pose-") as tmp:
            _extract(_download_wheel(Path(tmp), folder, progress), folder)
        log.info("pose models verified and cached in %s", folder)

    return cached_or_fetch(cache_folder(cache_dir), pose_models, fetch, force)


def interactive() -> bool:
    """True when a person runs the command at a terminal (stdin and stderr are ttys); a service is not one."""
    return sys.stdin is not None and sys.stderr is not None and sys.stdin.isatty() and sys.stderr.isatty()


def ensure_pose_models(cache_dir: str | Path | None = None, fetch: bool | None = None) -> PoseModels:
    """The verified cached models; missing ones are fetched first when ``fetch`` (default: :func:`interactive`).

    Only *missing* files are fetched: a cached file that fails its hash is
    refused as :func:`pose_models` refuses it, never silently replaced.
    Without fetching, or when the fetch fails, the error is one sentence
    naming both ways to get the files: ``har-edge models fetch pose`` on a
    machine with access to PyPI, or copying them into the cache folder.
    """
    folder = cache_folder(cache_dir)
    missing = [name for name in ASSETS if not (folder / name).is_file()]
    if not missing:
        return pose_models(folder)
    copy = f"copy {' and '.join(ASSETS)} into {folder} from a machine that has them"
    if not (interactive() if fetch is None else fetch):
        raise PoseModelsError(f"the pose models are not in {folder} (missing {', '.join(missing)}); run "
                              f"`har-edge models fetch pose` on a machine with access to PyPI, or {copy}")
    log.info("the pose models are not in %s yet: fetching them once (about 35 MB from PyPI)", folder)
    try:
        return fetch_pose_models(folder, progress=True)
    except PoseModelsError as e:
        raise PoseModelsError(f"the pose models are not in {folder} and fetching them failed ({e.problem}); run "
                              f"`har-edge models fetch pose` on a machine with access to PyPI, or {copy}") from None
