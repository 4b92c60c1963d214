"""The lite landmark model in the pose cache: verified, refused when altered, chosen for bundles that allow it.

Fetching it is tested in test_pose_lite_fetch.py; these tests take the real
model from the pose cache (``real_lite``, tests/conftest.py).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from har.edge.pose.assets import PoseModelsError
from har.edge.pose.lite import LITE_FILE, lite_landmarks


def test_an_altered_cached_lite_model_is_refused(real_lite, tmp_path):
    data = bytearray(real_lite.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / LITE_FILE).write_bytes(bytes(data))
    with pytest.raises(PoseModelsError, match="delete it and run `har-edge models fetch pose-lite`"):
        lite_landmarks(tmp_path)


def test_a_missing_lite_model_says_how_to_fetch_it(tmp_path):
    with pytest.raises(PoseModelsError, match="not in .*har-edge models fetch pose-lite"):
        lite_landmarks(tmp_path)


def test_cli_fetch_pose_lite_reports_the_verified_file_or_one_clear_error(real_lite, tmp_path, monkeypatch):
    from har.edge.cli import app

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--cache-dir", str(cache)])
    assert result.exit_code == 0 and "verified" in result.output and LITE_FILE in result.output
    (cache / LITE_FILE).write_bytes(b"\0" * 100)  # altered: a fetch without --force refetches it
    monkeypatch.setenv("HAR_NPM_REGISTRY", "http://127.0.0.1:9")
    monkeypatch.setattr("har.edge.download.time.sleep", lambda s: None)
    result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--cache-dir", str(cache)])
    assert result.exit_code == 2 and "error: could not download @mediapipe/pose" in result.output


def _default():
    from har.edge.bundle import load_bundle
    from har.edge.default_model import default_bundle_path

    return load_bundle(default_bundle_path())


def test_the_default_model_runs_the_lite_landmarks_when_cached(real_lite, pose_cache):
    from har.edge.interpreter import PoseClassifier
    from har.edge.pose.lite import choose_landmarks

    (pose_cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    b = _default()
    assert b.metadata["pose"]["lite_landmarks"] is True
    clf = PoseClassifier(b)
    assert clf.landmark_model == "lite" and clf.estimator.landmarker.path == pose_cache / LITE_FILE
    assert clf.estimator.landmarker.pruned
    assert choose_landmarks(b, "full") == (pose_cache / "pose_landmark_full.tflite", "full")


def test_without_the_lite_model_the_full_one_runs_and_says_how_to_get_the_lite_one(pose_cache, caplog, monkeypatch):
    import logging

    from har.edge.interpreter import PoseClassifier
    from har.edge.pose import lite

    monkeypatch.setattr(lite, "_told_missing", False)
    with caplog.at_level(logging.INFO, logger="har.edge.pose.lite"):
        clf = PoseClassifier(_default())
        PoseClassifier(_default())
    assert clf.landmark_model == "full" and clf.estimator.landmarker.path.name == "pose_landmark_full.tflite"
    notes = [r.getMessage() for r in caplog.records if "fetch pose-lite" in r.getMessage()]
    assert len(notes) == 1  # once per process
    with pytest.raises(PoseModelsError, match="not in"):
        lite.choose_landmarks(_default(), "lite")  # asked for by name: no quiet fallback


def test_an_altered_cached_lite_model_is_refused_not_passed_over(real_lite, pose_cache):
    from har.edge.interpreter import PoseClassifier

    data = bytearray(real_lite.read_bytes())
    data[1000] ^= 0xFF
    (pose_cache / LITE_FILE).write_bytes(bytes(data))
    with pytest.raises(PoseModelsError, match="not the lite pose landmark model"):
        PoseClassifier(_default())


def test_a_bundle_that_does_not_declare_lite_runs_the_full_model_even_with_lite_cached(real_lite, pose_cache):
    from dataclasses import replace

    from har.edge.pose.lite import choose_landmarks

    (pose_cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    b = _default()
    meta = {**b.metadata, "pose": {k: v for k, v in b.metadata["pose"].items() if k != "lite_landmarks"}}
    assert choose_landmarks(replace(b, metadata=meta))[1] == "full"


def test_a_lite_declaration_that_is_not_a_boolean_is_refused(tmp_path, pose_cache):
    import json
    import shutil

    from har.edge.bundle import BundleError, load_bundle
    from har.edge.default_model import default_bundle_path

    shutil.copytree(default_bundle_path(), tmp_path / "b")
    meta = json.loads((tmp_path / "b" / "metadata.json").read_text())
    meta["pose"]["lite_landmarks"] = "yes"
    (tmp_path / "b" / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="pose.lite_landmarks must be true or false, not 'yes'"):
        load_bundle(tmp_path / "b")
