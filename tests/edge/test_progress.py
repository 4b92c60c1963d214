"""Progress bars: drawn by rich on a terminal, silent elsewhere (logs, journald, CI)."""

from __future__ import annotations

import io

from rich.console import Console

from har.edge import progress


def test_bars_are_silent_off_a_terminal(capsys):
    bar = progress.ByteBar("x", enabled=None)  # pytest's stderr is not a terminal
    bar.update(10, 100, force=True)
    bar.close()
    with progress.steps("converting", 3) as advance:
        advance(1, "encoder-int8")
    assert capsys.readouterr().err == ""


def test_bars_draw_counts_and_bytes_when_enabled(monkeypatch):
    buf = io.StringIO()
    monkeypatch.setattr(progress, "_console", lambda: Console(file=buf, force_terminal=True, width=100,
                                                               no_color=True))
    bar = progress.ByteBar("pose.tflite", enabled=True)
    bar.update(3_000_000, 6_000_000, force=True)
    bar.close()
    with progress.steps("converting", 2, enabled=True) as advance:
        advance(1, "encoder-int8")
        advance(1, "head-int8")
    text = buf.getvalue()
    assert "pose.tflite" in text and "3.0/6.0 MB" in text
    assert "2/2" in text and "head-int8" in text


def test_export_bar_follows_the_workers_progress_file(tmp_path, monkeypatch):
    import subprocess
    import sys

    from har.export.worker import _wait_with_bar

    buf = io.StringIO()
    monkeypatch.setattr(progress, "_console", lambda: Console(file=buf, force_terminal=True, width=100,
                                                               no_color=True))
    prog = tmp_path / "progress.jsonl"
    child = ("import json, time, sys\n"
             "f = open(sys.argv[1], 'a')\n"
             "for t in ('window:int8', 'encoder:int8'):\n"
             "    time.sleep(0.6); f.write(json.dumps({'event': 'done', 'target': t}) + '\\n'); f.flush()\n"
             "f.write('{\"event\": \"do')\n")  # a line still being written
    proc = subprocess.Popen([sys.executable, "-c", child, str(prog)])
    assert _wait_with_bar(proc, prog, 2, timeout_s=60) == 0
    text = buf.getvalue()
    assert "2/2" in text and "encoder:int8" in text
