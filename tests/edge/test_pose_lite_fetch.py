"""Fetching the lite landmark model: the npm registry tarball over HTTP(S), resumed, verified, one member out.

A real HTTP server on 127.0.0.1 plays the registry (``HAR_NPM_REGISTRY``
points at it) and serves a tarball built here around the real
``pose_landmark_lite.tflite`` from the pose cache, laid out as the published
``@mediapipe/pose`` package is. The tarball's own pin is this tarball's size
and SHA-256 (the real one pins Google's bytes, which no test downloads);
the model inside is checked against the real pin.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from har.edge.pose import lite
from har.edge.pose.lite import DOWNLOADS, LITE, LITE_FILE, PACKAGE, fetch_lite_landmarks, lite_landmarks
from har.edge.pose.npm_tarball import REGISTRY_ENV
from har.edge.pose.pinned import PoseModelsError

URL_PATH = f"/{PACKAGE.name}/-/{PACKAGE.filename}"


def make_tgz(members: list[tuple[str, bytes | None, str | None]]) -> bytes:
    """A gzip tarball of ``(name, bytes, link target)`` members: bytes for a file, a target for a symlink."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data, target in members:
            info = tarfile.TarInfo(name)
            if target is not None:
                info.type, info.linkname = tarfile.SYMTYPE, target
                tf.addfile(info)
            else:
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def pinned(data: bytes):
    """:data:`PACKAGE` pinned to ``data`` instead of Google's tarball."""
    return replace(PACKAGE, sha256=hashlib.sha256(data).hexdigest(), size=len(data))


@pytest.fixture
def package_tgz(real_lite) -> bytes:
    """The package's layout: a package.json, the full model's place taken by a stub, and the real lite model."""
    return make_tgz([("package/package.json", b'{"name": "@mediapipe/pose"}', None),
                     ("package/pose_landmark_full.tflite", b"\0" * 4096, None),
                     (LITE.member, real_lite.read_bytes(), None)])


@pytest.fixture
def registry(serve, monkeypatch):
    """``serve`` for a tarball at the registry's path, with ``HAR_NPM_REGISTRY`` pointing at that server."""
    def start(data: bytes | None):
        srv = serve({URL_PATH: data} if data is not None else {})
        monkeypatch.setenv(REGISTRY_ENV, srv.url("/"))
        return srv
    return start


def leftovers(cache: Path) -> list[str]:
    """Files in the cache other than the lite model and the download lock: what a fetch must not leave."""
    return sorted(str(p.relative_to(cache)) for p in cache.rglob("*")
                  if p.is_file() and p.name not in (LITE_FILE, "pose-lite.lock"))


def test_fetch_downloads_the_tarball_extracts_the_model_and_keeps_only_it(registry, package_tgz, tmp_path):
    srv = registry(package_tgz)
    cache = tmp_path / "cache"
    path = fetch_lite_landmarks(cache, package=pinned(package_tgz), progress=False)
    assert path == cache / LITE_FILE and path.stat().st_size == LITE.size and lite_landmarks(cache) == path
    assert (path.stat().st_mode & 0o777) == 0o644
    assert leftovers(cache) == []  # the 41 MB tarball is deleted once the model is out
    assert srv.requests == [(URL_PATH, None, 200)]
    assert fetch_lite_landmarks(cache, package=pinned(package_tgz)) == path
    assert len(srv.requests) == 1  # cached and verified: no second download


def test_an_interrupted_download_is_resumed_by_the_next_run(registry, package_tgz, tmp_path):
    srv = registry(package_tgz)
    cache = tmp_path / "cache"
    half = len(package_tgz) // 2
    (cache / DOWNLOADS).mkdir(parents=True)
    (cache / DOWNLOADS / f"{PACKAGE.filename}.part").write_bytes(package_tgz[:half])  # what a dropped link left
    fetch_lite_landmarks(cache, package=pinned(package_tgz), progress=False)
    assert srv.requests == [(URL_PATH, f"bytes={half}-", 206)]
    assert lite_landmarks(cache) and leftovers(cache) == []


def test_a_tarball_with_another_hash_is_refused_and_deleted(registry, package_tgz, tmp_path):
    registry(package_tgz)
    cache = tmp_path / "cache"
    wrong = replace(pinned(package_tgz), sha256="0" * 64)
    with pytest.raises(PoseModelsError, match=r"could not download @mediapipe/pose@.*has sha256 .*expected 0000"):
        fetch_lite_landmarks(cache, package=wrong, progress=False)
    assert not (cache / LITE_FILE).exists() and leftovers(cache) == []


def test_the_real_pin_refuses_any_other_tarball_before_opening_it(registry, package_tgz, tmp_path):
    registry(package_tgz)
    with pytest.raises(PoseModelsError, match=f"is {len(package_tgz):,} bytes but {PACKAGE.size:,} were expected"):
        fetch_lite_landmarks(tmp_path / "cache", progress=False)


def test_a_model_with_other_bytes_is_refused_and_nothing_is_cached(registry, tmp_path):
    data = make_tgz([(LITE.member, b"\1" * LITE.size, None)])
    registry(data)
    cache = tmp_path / "cache"
    with pytest.raises(PoseModelsError, match="not the lite pose landmark model this version expects"):
        fetch_lite_landmarks(cache, package=pinned(data), progress=False)
    assert not (cache / LITE_FILE).exists() and leftovers(cache) == []


def test_members_that_climb_out_are_never_written(registry, real_lite, tmp_path):
    evil = b"escaped"
    data = make_tgz([("../../escaped.tflite", evil, None), ("package/../../../escaped2.tflite", evil, None),
                     ("/tmp/escaped3.tflite", evil, None), (LITE.member, real_lite.read_bytes(), None)])
    registry(data)
    cache = tmp_path / "deep" / "er" / "cache"
    fetch_lite_landmarks(cache, package=pinned(data), progress=False)
    assert lite_landmarks(cache)
    assert [p for p in tmp_path.rglob("escaped*")] == [] and not Path("/tmp/escaped3.tflite").exists()


def test_a_link_in_the_members_place_is_refused(registry, tmp_path):
    data = make_tgz([(LITE.member, None, "/etc/passwd")])
    registry(data)
    with pytest.raises(PoseModelsError, match="pose_landmark_lite.tflite is not a regular file"):
        fetch_lite_landmarks(tmp_path / "cache", package=pinned(data), progress=False)


def test_a_member_larger_than_the_model_is_refused_unread(registry, tmp_path):
    data = make_tgz([(LITE.member, b"\0" * (LITE.size + 1), None)])
    registry(data)
    with pytest.raises(PoseModelsError, match=f"is {LITE.size + 1:,} bytes, not the {LITE.size:,} of the pinned"):
        fetch_lite_landmarks(tmp_path / "cache", package=pinned(data), progress=False)


def test_a_tarball_without_the_model_says_so(registry, tmp_path):
    data = make_tgz([("package/package.json", b"{}", None)])
    registry(data)
    with pytest.raises(PoseModelsError, match="has no package/pose_landmark_lite.tflite"):
        fetch_lite_landmarks(tmp_path / "cache", package=pinned(data), progress=False)


def test_a_truncated_tarball_is_one_sentence(package_tgz, tmp_path):
    cut = package_tgz[:len(package_tgz) * 2 // 3]
    tgz = tmp_path / PACKAGE.filename
    tgz.write_bytes(cut)
    cache = tmp_path / "cache"
    with pytest.raises(PoseModelsError, match="is not a valid gzip tarball .corrupt or truncated."):
        fetch_lite_landmarks(cache, tarball=tgz, package=pinned(cut))
    assert not (cache / LITE_FILE).exists() and leftovers(cache) == []
    assert tgz.is_file()  # the user's copy is theirs to delete


def test_a_missing_package_on_the_registry_is_a_404_sentence(registry, tmp_path):
    registry(None)
    with pytest.raises(PoseModelsError, match=r"could not download .*HTTP 404.*--from pose-0.5.1675469404.tgz"):
        fetch_lite_landmarks(tmp_path / "cache", progress=False)


def test_no_network_is_one_sentence_with_the_offline_ways(monkeypatch, tmp_path):
    import socket

    with socket.socket() as s:  # a port that nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv(REGISTRY_ENV, f"http://127.0.0.1:{port}")
    monkeypatch.setattr("har.edge.download.time.sleep", lambda s: None)  # the retries' backoff
    with pytest.raises(PoseModelsError, match=r"cannot reach 127.0.0.1: the connection was refused.*--from"):
        fetch_lite_landmarks(tmp_path / "cache", progress=False)


def test_a_registry_setting_that_is_not_a_url_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(REGISTRY_ENV, "registry.example.org")
    with pytest.raises(PoseModelsError, match=f"{REGISTRY_ENV} must be the http.s. address"):
        fetch_lite_landmarks(tmp_path / "cache")


def test_cli_from_a_copied_tarball_works_offline(package_tgz, tmp_path, monkeypatch):
    from har.edge.cli import app

    tgz = tmp_path / PACKAGE.filename
    tgz.write_bytes(package_tgz)
    monkeypatch.setenv(REGISTRY_ENV, "http://127.0.0.1:9")  # would fail if it were asked
    monkeypatch.setattr(lite, "PACKAGE", pinned(package_tgz))
    cache = tmp_path / "cache"
    result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--from", str(tgz), "--cache-dir", str(cache)])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output and (cache / LITE_FILE).is_file() and tgz.is_file()


def test_cli_from_a_wrong_or_missing_file_is_one_error_line(tmp_path):
    from har.edge.cli import app

    other = tmp_path / "other.tgz"
    other.write_bytes(b"not it")
    for path, says in ((other, "is not pose-0.5.1675469404.tgz of @mediapipe/pose"),
                       (tmp_path / "absent.tgz", "absent.tgz does not exist")):
        result = CliRunner().invoke(app, ["models", "fetch", "pose-lite", "--from", str(path),
                                          "--cache-dir", str(tmp_path / "cache")])
        assert result.exit_code == 2 and f"error: {path}" in result.output and says in result.output
    result = CliRunner().invoke(app, ["models", "fetch", "pose", "--from", str(other)])
    assert result.exit_code == 2 and "for pose-lite only" in result.output
