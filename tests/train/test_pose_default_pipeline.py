"""`make pose-default` in small: generate, train, export with cached pose models, score on new generated people."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from har.cli.main import app

pytestmark = pytest.mark.slow


def test_generated_motion_to_a_scored_bundle(tmp_path, real_pose_models):
    run = CliRunner().invoke
    data, art = tmp_path / "motion", tmp_path / "art"
    res = run(app, ["data", "motion", "--out", str(data), "--actors", "10", "--takes", "1", "--actions",
                    "walk,jumping_jack,sit_down"])
    assert res.exit_code == 0, res.output
    res = run(app, ["train", "--encoder", "pose", "--data", str(data), "--config", "configs/pose-default.toml",
                    "--out", str(art), "--epochs", "8"])
    assert res.exit_code == 0, res.output
    res = run(app, ["export", "--model", str(art / "pose_lstm"), "--quant", "fp32", "--pose-models", "cache",
                    "--out", str(art / "bundle")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (art / "bundle").glob("*.tflite")) == ["head.tflite"]
    meta = json.loads((art / "bundle" / "metadata.json").read_text())
    assert meta["quantization"] == "fp32" and meta["embedding"]["references"]  # fp32 head, enrolment references
    res = run(app, ["eval-motion", str(art / "bundle"), "--actors", "6", "--json", str(tmp_path / "s.json")])
    assert res.exit_code == 0, res.output
    score = json.loads((tmp_path / "s.json").read_text())
    assert score["labels"] == ["jumping_jack", "sit_down", "walk"] and score["test_set"]["first_actor"] == 1000
    assert score["accuracy"] > 0.6  # three very different actions, people the head never saw (chance 0.33)
