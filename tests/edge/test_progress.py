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
