"""Resumable downloads against a real HTTP server on 127.0.0.1.

The server (:mod:`tests.http_server`) answers Range requests and can drop the
connection half way, ignore Range, or announce a size it does not send.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from har.edge.capture import open_video
from har.edge.download import DownloadError, _network_reason, download
from har.edge.videourl import fetch_video, is_video_url, local_video
from tests.helpers import write_video
from tests.http_server import FileServer

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
SHA = hashlib.sha256(PAYLOAD).hexdigest()


def test_download_verifies_and_renames(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", size=len(PAYLOAD), sha256=SHA, progress=False)
    assert got.path.read_bytes() == PAYLOAD and got.sha256 == SHA and got.resumed_from == 0
    assert not (tmp_path / "a.bin.part").exists()
    again = download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False)
    assert again.path == got.path and len(srv.requests) == 1  # a complete file is not fetched again


def test_dropped_connection_resumes_within_the_same_call(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    srv.drop_once["/a.bin"] = 120_000
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False, backoff_s=0.01)
    assert got.path.read_bytes() == PAYLOAD
    assert srv.requests == [("/a.bin", None, 200), ("/a.bin", "bytes=120000-", 206)]


def test_a_partial_file_from_an_earlier_run_resumes(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:100_000])
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False)
    assert got.path.read_bytes() == PAYLOAD and got.resumed_from == 100_000
    assert srv.requests == [("/a.bin", "bytes=100000-", 206)]


def test_server_ignoring_range_restarts_from_zero(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    srv.ignore_range = True
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:50_000])
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False)
    assert got.path.read_bytes() == PAYLOAD  # not the first 50 kB twice
    assert srv.requests == [("/a.bin", "bytes=50000-", 200)]


def test_complete_part_file_gets_416_and_is_finished(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False)
    assert got.path.read_bytes() == PAYLOAD
    assert srv.requests == [("/a.bin", f"bytes={len(PAYLOAD)}-", 416)]
    (tmp_path / "a.bin").unlink()
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD + b"stale tail")  # longer than the server's file
    assert download(srv.url("/a.bin"), tmp_path / "a.bin", progress=False, backoff_s=0.01).path.read_bytes() == PAYLOAD
    assert [r[2] for r in srv.requests] == [416, 416, 200]


def test_a_416_without_the_file_size_does_not_make_a_stale_part_the_file(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    srv.bare_416 = True  # no "Content-Range: bytes */N": nothing says the .part is the whole file
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD + b"stale tail")
    assert download(srv.url("/a.bin"), tmp_path / "a.bin", progress=False, backoff_s=0.01).path.read_bytes() == PAYLOAD
    assert [r[2] for r in srv.requests] == [416, 200]
    (tmp_path / "a.bin").unlink()
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD)  # the expected size says this one is complete
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", size=len(PAYLOAD), sha256=SHA, progress=False)
    assert got.path.read_bytes() == PAYLOAD and [r[2] for r in srv.requests] == [416, 200, 416]


def test_a_cut_transfer_without_content_length_resumes(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    srv.omit_length = True  # the body ends when the connection closes: a cut looks like the end
    srv.drop_once["/a.bin"] = 120_000
    got = download(srv.url("/a.bin"), tmp_path / "a.bin", size=len(PAYLOAD), sha256=SHA, progress=False,
                   backoff_s=0.01)
    assert got.path.read_bytes() == PAYLOAD
    assert srv.requests == [("/a.bin", None, 200), ("/a.bin", "bytes=120000-", 206)]


def test_an_approximate_size_checks_free_space_when_the_server_gives_none(serve, tmp_path):
    srv = serve({"/big.bin": b"x"})
    srv.omit_length = True
    with pytest.raises(DownloadError, match="not enough disk space for big.bin: .* needed, .* free"):
        download(srv.url("/big.bin"), tmp_path / "big.bin", progress=False, approx_size=10**15)


def test_two_processes_downloading_one_file_take_turns(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    srv.throttle_s = 0.03  # about 0.6 s per transfer, so the second process starts during the first
    dest = tmp_path / "a.bin"
    code = (f"from har.edge.download import download; "
            f"download({srv.url('/a.bin')!r}, {str(dest)!r}, sha256={SHA!r}, progress=False)")
    first = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    for _ in range(500):
        if srv.requests or first.poll() is not None:
            break
        time.sleep(0.01)
    assert srv.requests, "the first process never reached the server"
    second = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True)
    assert first.wait(60) == 0, first.stderr.read()
    assert second.wait(60) == 0, second.stderr.read()
    assert dest.read_bytes() == PAYLOAD and len(srv.requests) == 1  # the second found the file complete


def test_wrong_sha256_is_refused_and_the_file_removed(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    with pytest.raises(DownloadError, match=r"a\.bin has sha256 [0-9a-f]{64}, expected 0{64}.*deleted it"):
        download(srv.url("/a.bin"), tmp_path / "a.bin", sha256="0" * 64, progress=False)
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin.lock"]  # the lock stays: deleting it would race


def test_wrong_size_is_refused_before_downloading(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    with pytest.raises(DownloadError, match="300,000 bytes but 1,000 were expected"):
        download(srv.url("/a.bin"), tmp_path / "a.bin", size=1000, progress=False)
    assert not (tmp_path / "a.bin").exists()


def test_not_found_and_unreachable_are_one_sentence(serve, tmp_path):
    srv = serve({})
    with pytest.raises(DownloadError, match=r"was not found \(HTTP 404\); check the URL"):
        download(srv.url("/missing.rar"), tmp_path / "m.rar", progress=False)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match="cannot reach 127.0.0.1: the connection was refused; .*rerun"):
        download(f"http://127.0.0.1:{port}/x.bin", tmp_path / "x.bin", progress=False, retries=1, backoff_s=0.01)
    assert _network_reason(socket.gaierror(-2, "Name or service not known")).startswith("the host name does not")
    assert _network_reason(OSError(101, "Network is unreachable")) == "the network is unreachable"


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a certificate")
def test_untrusted_certificate_is_clear_and_can_be_overridden(tmp_path, monkeypatch):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1", "-days", "1"],
                   check=True, capture_output=True, timeout=30)
    srv = FileServer({"/a.bin": PAYLOAD}, tls=(cert, key))
    try:
        with pytest.raises(DownloadError, match="TLS certificate of 127.0.0.1 could not be verified "
                                                r"\(self.signed certificate\); .* set HAR_DOWNLOAD_INSECURE=1"):
            download(srv.url("/a.bin"), tmp_path / "a.bin", progress=False)
        assert srv.requests == []
        monkeypatch.setenv("HAR_DOWNLOAD_INSECURE", "1")
        assert download(srv.url("/a.bin"), tmp_path / "a.bin", sha256=SHA, progress=False).path.read_bytes() == PAYLOAD
    finally:
        srv.close()


def test_not_enough_space_is_checked_up_front(serve, tmp_path):
    srv = serve({"/big.bin": b"x"})
    srv.fake_length = 10**15  # a petabyte: no test machine has that free
    with pytest.raises(DownloadError, match="not enough disk space for big.bin: .* needed, .* free"):
        download(srv.url("/big.bin"), tmp_path / "big.bin", progress=False)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs Linux /dev/full to produce ENOSPC")
def test_disk_full_while_writing_says_what_to_do(serve, tmp_path):
    srv = serve({"/a.bin": PAYLOAD})
    (tmp_path / "a.bin.part").symlink_to("/dev/full")  # every write fails with ENOSPC
    with pytest.raises(DownloadError, match=r"disk full while writing .*a\.bin\.part; free \d+ MB and rerun, "
                                            "the download resumes"):
        download(srv.url("/a.bin"), tmp_path / "a.bin", progress=False)


def test_progress_bar_only_when_asked(serve, tmp_path, capsys):
    srv = serve({"/a.bin": PAYLOAD, "/b.bin": PAYLOAD})
    download(srv.url("/a.bin"), tmp_path / "a.bin", progress=True)
    err = capsys.readouterr().err
    assert err.startswith("a.bin ") and "300.0/300.0 kB" in err and err.endswith("\n")  # rich's bar
    download(srv.url("/b.bin"), tmp_path / "b.bin")  # stderr is not a terminal under pytest
    assert capsys.readouterr().err == ""


def test_url_rule_for_files_and_streams():
    assert is_video_url("https://example.org/clips/walk.MP4?raw=1")
    assert is_video_url("http://example.org/a.avi") and is_video_url("https://youtu.be/abc")
    assert is_video_url("https://www.youtube.com/watch?v=abc")
    assert not is_video_url("http://192.168.1.20:8080/video")  # an MJPEG camera stays a stream
    assert not is_video_url("rtsp://cam.local/stream.mp4")  # rtsp is always a stream


def test_fetch_video_caches_by_url(serve, tmp_path):
    frames = [np.full((32, 48, 3), i * 10, np.uint8) for i in range(12)]
    mp4 = write_video(tmp_path / "src.mp4", frames, 10.0).read_bytes()
    srv = serve({"/clips/walk.mp4": mp4})
    cache = tmp_path / "cache"
    path = fetch_video(srv.url("/clips/walk.mp4"), cache, progress=False)
    assert path.parent == cache and path.suffix == ".mp4" and path.read_bytes() == mp4
    cap = open_video(path)
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 12
    cap.release()
    assert fetch_video(srv.url("/clips/walk.mp4"), cache) == path and len(srv.requests) == 1


def test_local_video_refuses_streams_and_missing_files(tmp_path):
    with pytest.raises(DownloadError, match="no such file"):
        local_video(str(tmp_path / "none.mp4"))
    with pytest.raises(DownloadError, match="not a video file URL.*har-edge run --source URL"):
        local_video("http://127.0.0.1:9/video")


def _run_fetch(code_before: str, url: str, cache: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    code = textwrap.dedent(code_before) + textwrap.dedent(f"""
        from har.edge.download import DownloadError
        from har.edge.videourl import fetch_video
        try:
            fetch_video({url!r}, {str(cache)!r}, progress=False)
        except DownloadError as e:
            print("ERR", e)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_youtube_without_yt_dlp_names_the_extra(tmp_path):
    res = _run_fetch("import sys; sys.modules['yt_dlp'] = None\n", "https://www.youtube.com/watch?v=aaaaaaaaaaa",
                     tmp_path)
    assert res.returncode == 0, res.stderr
    assert "ERR YouTube URLs need yt-dlp: run `pip install 'har-edge[youtube]'`" in res.stdout


def test_youtube_unreachable_network_is_clear(tmp_path):
    pytest.importorskip("yt_dlp", reason="yt-dlp not installed (pip install 'har-edge[youtube]')")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proxy = f"http://127.0.0.1:{port}"  # nothing listens there: every request fails to connect
    res = _run_fetch("", "https://www.youtube.com/watch?v=aaaaaaaaaaa", tmp_path,
                     {"https_proxy": proxy, "HTTPS_PROXY": proxy, "http_proxy": proxy, "HTTP_PROXY": proxy,
                      "no_proxy": "", "NO_PROXY": ""})
    assert res.returncode == 0, res.stderr
    assert "ERR cannot reach YouTube for https://www.youtube.com/watch?v=aaaaaaaaaaa: check the network" in res.stdout


def test_har_predict_downloads_a_url_before_loading_the_model(serve, tmp_path):
    from typer.testing import CliRunner

    from har.cli.main import app

    frames = [np.full((32, 48, 3), i * 10, np.uint8) for i in range(12)]
    mp4 = write_video(tmp_path / "src.mp4", frames, 10.0).read_bytes()
    srv = serve({"/v/clip.mp4": mp4})
    cache = tmp_path / "cache"
    res = CliRunner().invoke(app, ["predict", srv.url("/v/clip.mp4"), "--model", str(tmp_path / "no-model"),
                                   "--cache-dir", str(cache)])
    assert res.exit_code == 2 and "no-model does not exist" in res.output  # got as far as the model folder
    assert [p.read_bytes() for p in cache.iterdir() if p.suffix != ".lock"] == [mp4]
    res = CliRunner().invoke(app, ["predict", srv.url("/v/none.mp4"), "--cache-dir", str(cache)])
    assert res.exit_code == 2 and "none.mp4 was not found (HTTP 404)" in res.output


@pytest.mark.slow  # trains the session's tiny model when no other test has
def test_har_predict_downloads_a_url_and_gives_the_local_answer(serve, tiny_model_dir, tiny_synth, tmp_path):
    from typer.testing import CliRunner

    from har.cli.main import app

    video = sorted(tiny_synth.rglob("*.mp4"))[0]
    srv = serve({"/v/clip.mp4": video.read_bytes()})
    runner = CliRunner()
    local = runner.invoke(app, ["predict", str(video), "--model", str(tiny_model_dir)])
    remote = runner.invoke(app, ["predict", srv.url("/v/clip.mp4"), "--model", str(tiny_model_dir),
                                 "--cache-dir", str(tmp_path / "cache")])
    assert local.exit_code == 0 and remote.exit_code == 0, remote.output
    assert "Action Predicted:" in local.output and remote.output.strip().endswith(local.output.strip())
    res = runner.invoke(app, ["predict", srv.url("/v/none.mp4"), "--model", str(tiny_model_dir),
                              "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 2 and "none.mp4 was not found (HTTP 404)" in res.output
