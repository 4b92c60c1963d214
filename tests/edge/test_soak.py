"""The short soak: `har-edge run` with every sink on, the broker restarted under it (tools/soak.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_short_soak_loses_nothing_and_does_not_grow(colour_bundle, broker, tmp_path):
    # `broker` only checks mosquitto is installed (skip locally, fail in CI); the soak runs its own.
    out = tmp_path / "soak"
    res = subprocess.run([sys.executable, str(ROOT / "tools" / "soak.py"), "--minutes", "2", "--out", str(out),
                          "--bundle", str(colour_bundle), "--restart-every", "30", "--down-for", "6",
                          "--sample-every", "5", "--warmup", "45", "--segment-s", "30", "--check"],
                         capture_output=True, text=True, timeout=400)
    summary = json.loads((out / "summary.json").read_text())
    assert res.returncode == 0, res.stderr[-3000:]
    assert summary["broker_restarts"] >= 2 and summary["events_sent"] >= 20
    assert summary["events_lost"] == 0 and summary["left_in_outbox"] == 0 and summary["order_ok"]
    assert (out / "samples.csv").exists() and (out / "soak.png").exists()
