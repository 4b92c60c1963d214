"""BlazePose's *lite* landmark model: fetched once from the npm registry over HTTPS, verified every time it is used.

The mediapipe wheels on PyPI carry only ``pose_landmark_full.tflite``; the
lite (and heavy) landmark models are published in Google's ``@mediapipe/pose``
package on the npm registry, next to a full model that is byte-identical to
the wheel's (same SHA-256 as :data:`har.edge.pose.assets.ASSETS`). The lite
model's SHA-256 pinned here is the one mediapipe's own build pins for
``pose_landmark_lite.tflite``. :func:`fetch_lite_landmarks` downloads the
pinned package tarball directly (:mod:`.npm_tarball`: no npm or Node.js, which
a Raspberry Pi does not have), checks it against its pinned SHA-256, reads the
one file out of it and keeps it in the pose cache beside the other two.

It is the pose path's cheaper landmark model: same input, same outputs,
about half the work of the full one once both are pruned of the outputs the
pose path never reads (docs/pose.md, "Cost against accuracy"). A bundle
whose head takes its keypoints (``pose.lite_landmarks: true``, the default
model among them) runs it when it is cached (:func:`choose_landmarks`);
``har bench --pose-path`` measures it beside the full one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from har.edge.pose.assets import ASSETS, PoseModelsError, default_cache_dir
from har.edge.pose.npm_tarball import (
    REGISTRY,
    REGISTRY_ENV,
    NpmTarball,
    check_tarball,
    download_tarball,
    open_member,
)
from har.edge.pose.pinned import PinnedFile, cache_folder, cached_or_fetch, install, verify

log = logging.getLogger(__name__)

LITE_FILE = "pose_landmark_lite.tflite"
LITE = PinnedFile("package/pose_landmark_lite.tflite",
                  "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61", 2_819_824)
#: ``@mediapipe/pose`` 0.5.1675469404 as the registry serves it. Its SHA-256 was taken from the tarball
#: whose SHA-512 is the registry's own ``dist.integrity`` for this version
#: (sha512-DFZsNWTsSphRIZppnUCuunzBiHP2FdJXR9ehc7mMi4KG+oPaOH0Em3d6kr7Py+TSyTXC1doH88KcF28k2sBxsQ==).
PACKAGE = NpmTarball("@mediapipe/pose", "0.5.1675469404",
                     "8bb349a7b3a3ba699df23be804ddd3b3eab810b50b15406894be257859388a84", 40_985_403)
#: Every pose model file this version pins (detector, full and lite landmarks), by SHA-256.
PINNED_SHA256 = frozenset({LITE.sha256, *(a.sha256 for a in ASSETS.values())})
FETCH_HINT = "run `har-edge models fetch pose-lite`"
#: Where partial downloads wait for a rerun to resume them, inside the cache folder.
DOWNLOADS = ".downloads"
_told_missing = False  # the "lite model not cached" note is logged once per process


def _offline_hint(folder: Path, package: NpmTarball) -> str:
    return (f"set {REGISTRY_ENV} to a registry mirror, or download {package.url(REGISTRY)} "
            f"on a machine with internet access, copy it here and run `har-edge models fetch pose-lite --from "
            f"{package.filename}`, or copy {LITE_FILE} into {folder}")


def lite_landmarks(cache_dir: str | Path | None = None) -> Path:
    """The cached lite landmark model, checked against its pinned SHA-256; never goes online."""
    folder = cache_folder(cache_dir)
    path = folder / LITE_FILE
    if not path.is_file():
        raise PoseModelsError(f"the lite pose landmark model is not in {folder}; {FETCH_HINT} (about 41 MB from "
                              f"the npm registry), or copy {LITE_FILE} there from a machine that has it")
    verify(path, LITE, "the lite pose landmark model", FETCH_HINT)
    return path


def fetch_lite_landmarks(cache_dir: str | Path | None = None, force: bool = False, progress: bool | None = None,
                         tarball: str | Path | None = None, package: NpmTarball | None = None) -> Path:
    """Download the pinned ``@mediapipe/pose`` tarball, extract and verify the lite model, and cache it.

    Returns at once, without network, when the cache already holds a verified
    copy (unless ``force``). ``tarball``: a copy of the package tarball to
    read instead of downloading (an offline device). Otherwise the tarball
    (about 41 MB) is downloaded into ``.downloads`` in the cache folder, where
    an interrupted transfer is resumed by the next run, and deleted once the
    model is cached. ``progress`` None draws a bar when stderr is a terminal.
    ``package``: the pinned tarball (default :data:`PACKAGE`).
    """
    from har.edge.download import file_lock  # the network stack only for a fetch

    package = package or PACKAGE

    def fetch(folder: Path) -> None:
        downloads = folder / DOWNLOADS
        # One fetch at a time per cache: a second one waits, then finds the model cached.
        with file_lock(downloads / "pose-lite.lock"):
            if not force and (folder / LITE_FILE).is_file():
                try:
                    lite_landmarks(folder)
                    return
                except PoseModelsError:
                    pass
            if tarball is not None:
                check_tarball(Path(tarball), package)
                _extract(Path(tarball), folder)
            else:
                download = downloads / package.filename
                try:
                    _extract(download_tarball(package, downloads, _offline_hint(folder, package), progress), folder)
                finally:  # a .part stays for the next run to resume; the outer lock makes download's own redundant
                    download.unlink(missing_ok=True)  # 41 MB: the model is what is kept
                    download.with_name(download.name + ".lock").unlink(missing_ok=True)
        log.info("lite pose landmark model verified and cached in %s", folder)

    return cached_or_fetch(cache_folder(cache_dir), lite_landmarks, fetch, force)


def _extract(tarball: Path, folder: Path) -> None:
    tf, member = open_member(tarball, LITE)
    with tf, member:
        install(member, folder, LITE_FILE, LITE, "the lite pose landmark model", FETCH_HINT)


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
