"""``har-edge run --source URL`` and ``har-edge predict URL`` on a video served from 127.0.0.1.

A URL to a video file is downloaded into the cache and then read exactly like
the local file, so the events must be identical; other http URLs stay live
streams.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from har.edge.cli import app
from tests.edge.colour import scenario as _scenario
from tests.http_server import FileServer


@pytest.fixture
def served_clip(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    video = _scenario(tmp_path / "clip.mp4", [("idle", 1.0), ("red", 3.0), ("idle", 2.0)])
    srv = FileServer({"/clips/clip.mp4": video.read_bytes()})
    yield video, srv
    srv.close()


def _events(path) -> list[tuple]:
    return [(e["kind"], e["label"], e.get("started_at")) for e in map(json.loads, path.read_text().splitlines())]


def test_run_with_a_video_url_downloads_then_plays_it_as_a_file(colour_bundle, served_clip, tmp_path):
    video, srv = served_clip
    runner = CliRunner()
    results = []
    for i, src in enumerate([str(video), srv.url("/clips/clip.mp4"), srv.url("/clips/clip.mp4")]):
        jsonl = tmp_path / f"e{i}.jsonl"
        res = runner.invoke(app, ["run", "--bundle", str(colour_bundle), "--source", src, "--stride", "1",
                                  "--jsonl", str(jsonl), "--no-console"])
        assert res.exit_code == 0, res.output
        results.append(_events(jsonl))
    assert any(k == "action_started" and lab == "red" and 1.0 <= t <= 1.8 for k, lab, t in results[0])
    assert results[1] == results[0] == results[2]
    assert len(srv.requests) == 1  # the second URL run used the cache
    cached = [p for p in (tmp_path / "cache" / "har" / "videos").iterdir() if p.suffix != ".lock"]
    assert len(cached) == 1 and cached[0].read_bytes() == video.read_bytes()


def test_predict_accepts_a_url(colour_bundle, served_clip):
    _, srv = served_clip
    res = CliRunner().invoke(app, ["predict", srv.url("/clips/clip.mp4"), "--bundle", str(colour_bundle)])
    assert res.exit_code == 0, res.output
    assert "Action Predicted: " in res.output


def test_missing_url_and_stream_urls_are_clear(colour_bundle, served_clip):
    _, srv = served_clip
    runner = CliRunner()
    res = runner.invoke(app, ["predict", srv.url("/clips/gone.mp4"), "--bundle", str(colour_bundle)])
    assert res.exit_code == 2 and "gone.mp4 was not found (HTTP 404)" in res.output
    res = runner.invoke(app, ["run", "--bundle", str(colour_bundle), "--source", srv.url("/clips/gone.mp4")])
    assert res.exit_code == 2 and "was not found (HTTP 404)" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["predict", srv.url("/live"), "--bundle", str(colour_bundle)])
    assert res.exit_code == 2 and "not a video file URL" in res.output and "har-edge run --source URL" in res.output
