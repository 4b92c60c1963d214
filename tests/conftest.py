"""Shared fixtures: a tiny synthetic dataset and one tiny trained LRCN per session.

Everything is real (mp4 files written by OpenCV, a Keras model trained for one
epoch), just small enough for CI on two cores.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.helpers import need

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Property tests (tests/edge/test_properties.py): a few seconds each by default; the slow job runs their
# "ci-long" twins, and HYPOTHESIS_PROFILE=ci-long makes every property test long.
settings.register_profile("dev", max_examples=25, deadline=None, print_blob=True)
settings.register_profile("ci-long", max_examples=400, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))
REALCLIPS = Path(__file__).resolve().parents[1].parent / "shared" / "realclips"


@pytest.fixture(scope="session")
def tiny_synth(tmp_path_factory) -> Path:
    from har.train.synth import SynthConfig, generate

    root = tmp_path_factory.mktemp("synth")
    generate(root, SynthConfig(groups=4, clips_per_group=1, duration_s=2.4))
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_synth, tmp_path_factory) -> Path:
    """An LRCN trained for one epoch on ``tiny_synth``: real artifacts, not a good model."""
    from har.train.config import load_config
    from har.train.fit import train

    out = tmp_path_factory.mktemp("artifacts")
    cfg = load_config(None, dict(model="lrcn", data=str(tiny_synth), epochs=1, out=str(out),
                                 cache_dir=str(out / "cache"), clips_per_video=1, val_fraction=0.25))
    return train(cfg)


@pytest.fixture(scope="session")
def realclips() -> Path:
    """``../shared/realclips``: real footage in odd formats, beside the repo in CI, absent in a user's clone."""
    need(REALCLIPS.is_dir(), f"real clips folder {REALCLIPS} not present (it lies beside the repo in CI, "
                             "not in a user's clone)")
    return REALCLIPS


@pytest.fixture(scope="session")
def real_pose_models():
    """The pinned BlazePose models from the user's cache, fetched from PyPI once if missing."""
    from har.edge.pose.assets import PoseModelsError, fetch_pose_models

    try:
        return fetch_pose_models()
    except PoseModelsError as e:
        need(False, f"pose models not cached and not fetchable here: {e}")


@pytest.fixture
def pose_cache(real_pose_models, tmp_path, monkeypatch):
    """A private ``$XDG_CACHE_HOME/har/pose`` in tmp_path holding copies of the pinned detector and full landmark model."""
    import shutil

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "har" / "pose"
    folder.mkdir(parents=True)
    for p in (real_pose_models.detector, real_pose_models.landmarks):
        shutil.copyfile(p, folder / p.name)
    return folder


@pytest.fixture(scope="session")
def real_lite():
    """The real lite landmark model from the pose cache (``make pose-models`` fetches it); never fetched here."""
    from har.edge.pose.lite import lite_landmarks
    from har.edge.pose.pinned import PoseModelsError

    try:
        return lite_landmarks()
    except PoseModelsError as e:
        need(False, f"lite pose landmark model not cached (run `har-edge models fetch pose-lite`): {e}")


@pytest.fixture
def serve():
    """Start file servers on 127.0.0.1 (``serve({path: bytes})``); all are closed after the test."""
    from tests.http_server import FileServer

    servers = []

    def make(files: dict[str, bytes]) -> FileServer:
        s = FileServer(files)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.close()
