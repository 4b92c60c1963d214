"""Fine-tuning the pose head: --init from a trained head, --mix-motion with generated windows (real Keras)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.train.motion import write_dataset
from har.train.pose_init import WEIGHTS_FILE, init_head, motion_windows


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A head trained for two epochs on generated walk / wave / clap, and a 'user' set with KTH's names."""
    root = tmp_path_factory.mktemp("init")
    write_dataset(root / "motion", ["walk", "wave_two_hands", "clap"], actors=4, takes=1, seed=11)
    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--data", str(root / "motion"), "--out",
                                   str(root / "base"), "--epochs", "2", "--batch-size", "32"])
    assert res.exit_code == 0, res.output
    user = root / "kth"
    for src, name in (("walk", "walking"), ("wave_two_hands", "handwaving"), ("clap", "stretching")):
        shutil.copytree(root / "motion" / src, user / name)
    return root


def test_weights_file_is_written_and_small(base):
    weights = base / "base" / "pose_lstm" / WEIGHTS_FILE
    assert weights.is_file() and weights.stat().st_size < 150_000


def test_init_copies_layers_and_mapped_output_rows(base):
    import keras

    from har.edge.pose.features import FEATURE_DIM
    from har.models import build_model

    src = keras.models.load_model(base / "base" / "pose_lstm" / "model.keras")
    model = build_model("pose_lstm", 3, 20, feature_dim=FEATURE_DIM)
    info = init_head(model, str(base / "base" / "pose_lstm"), ["handwaving", "stretching", "walking"])
    assert info["init_classes"] == {"handwaving": "wave_two_hands", "walking": "walk"}
    src_out, out = src.layers[-1].get_weights(), model.layers[-1].get_weights()
    src_labels = json.loads((base / "base" / "pose_lstm" / "labels.json").read_text())
    i = src_labels.index("walk")
    assert np.allclose(out[0][:, 2], src_out[0][:, i], atol=2e-3)  # float16 on disk
    assert not np.allclose(out[0][:, 1], src_out[0][:, src_labels.index("clap")], atol=2e-3)  # stretching: fresh
    lstm = [layer for layer in model.layers if layer.name in info["init_layers"]]
    assert lstm, "the recurrent layer must be copied"


def test_fine_tune_with_mixed_motion_end_to_end(base):
    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--data", str(base / "kth"), "--out",
                                   str(base / "tuned"), "--epochs", "1", "--batch-size", "32", "--init",
                                   str(base / "base" / "pose_lstm"), "--mix-motion", "0.5"])
    assert res.exit_code == 0, res.output
    m = json.loads((base / "tuned" / "pose_lstm" / "metrics.json").read_text())
    assert m["init_classes"] == {"handwaving": "wave_two_hands", "walking": "walk"}
    assert m["mixed_windows"] > 0 and set(m["mixed_classes"]) == {"handwaving", "walking"}


def test_init_and_mix_need_the_pose_encoder_and_a_weights_file(base, tmp_path):
    res = CliRunner().invoke(app, ["train", "--data", str(base / "kth"), "--init", "default"])
    assert res.exit_code == 2 and "add --encoder pose" in res.output
    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--data", str(base / "kth"), "--out",
                                   str(tmp_path), "--epochs", "1", "--init", str(tmp_path)])
    assert res.exit_code == 2 and WEIGHTS_FILE in res.output and "Traceback" not in res.output


def test_motion_windows_only_for_known_classes():
    poses, aspects, y, known = motion_windows(["walking", "stretching"], 12, 20, 0.1, 0.5, seed=0)
    assert known == {"walking": "walk"} and len(poses) == 12 and set(y.tolist()) == {0}
    assert poses.shape[1:] == (20, 33, 5) and len(aspects) == 12
