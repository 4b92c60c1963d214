"""The `har` CLI with real files: predict output, annotated video, clear errors."""

import json
import re
import shutil

import cv2
from typer.testing import CliRunner

from har.cli.main import app
from har.edge.capture import open_video

runner = CliRunner()


def test_predict_prints_a_label_and_writes_a_readable_video(tiny_model_dir, tiny_synth, tmp_path):
    video = sorted(tiny_synth.rglob("*.mp4"))[0]
    out = tmp_path / "annotated.mp4"
    res = runner.invoke(app, ["predict", str(video), "--model", str(tiny_model_dir), "--output", str(out)])
    assert res.exit_code == 0, res.output
    m = re.search(r"Action Predicted: (\S+)\s+Confidence: ([0-9.]+)", res.output)
    labels = json.loads((tiny_model_dir / "labels.json").read_text())
    assert m and m.group(1) in labels and 0.0 < float(m.group(2)) <= 1.0
    cap = open_video(out)
    n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    ok, frame = cap.read()
    src = open_video(video)
    assert ok and frame.shape[:2] == (int(src.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(src.get(cv2.CAP_PROP_FRAME_WIDTH)))
    assert n == int(src.get(cv2.CAP_PROP_FRAME_COUNT))


def test_predict_pads_a_clip_shorter_than_one_window_like_the_device(tiny_model_dir, tiny_synth, tmp_path):
    from tests.helpers import write_video

    cap = cv2.VideoCapture(str(sorted(tiny_synth.rglob("*.mp4"))[0]))
    fps = cap.get(cv2.CAP_PROP_FPS)
    frames = [cap.read()[1] for _ in range(int(fps))]  # 1 s: 10 frames 0.1 s apart, a window is 20
    video = write_video(tmp_path / "short.mp4", frames, fps)
    res = runner.invoke(app, ["predict", str(video), "--model", str(tiny_model_dir)])
    assert res.exit_code == 0, res.output
    assert "Action Predicted:" in res.output
    assert ("padded: the clip is shorter than one window, so 10 of 20 frames are from the clip and 10 copies of "
            "the first frame were added at the start") in res.output


def test_predict_errors_are_one_line_and_exit_2(tiny_model_dir, tmp_path):
    res = runner.invoke(app, ["predict", str(tmp_path / "missing.mp4"), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2 and "no such file" in res.output and "Traceback" not in res.output
    bad = tmp_path / "corrupt.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    res = runner.invoke(app, ["predict", str(bad), "--model", str(tiny_model_dir)])
    assert res.exit_code == 2 and "corrupt" in res.output
    no_labels = tmp_path / "model"
    shutil.copytree(tiny_model_dir, no_labels)
    (no_labels / "labels.json").unlink()
    res = runner.invoke(app, ["predict", str(bad), "--model", str(no_labels)])
    assert res.exit_code == 2 and "labels.json" in res.output


def test_train_on_a_wrong_root_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["train", "--model", "lrcn", "--data", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "does not exist" in res.output
    res = runner.invoke(app, ["train", "--model", "resnet", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "unknown model" in res.output


def test_data_synth_and_show(tmp_path):
    res = runner.invoke(app, ["data", "synth", "--out", str(tmp_path / "d"), "--groups", "1", "--clips", "1"])
    assert res.exit_code == 0, res.output
    assert len(list((tmp_path / "d").rglob("*.mp4"))) == 7
    res = runner.invoke(app, ["data", "show", str(tmp_path / "d"), "--out", str(tmp_path / "grid.png")])
    assert res.exit_code == 0, res.output
    assert cv2.imread(str(tmp_path / "grid.png")) is not None


def test_data_scenario(tmp_path):
    out = tmp_path / "s.mp4"
    res = runner.invoke(app, ["data", "scenario", "--out", str(out), "--actions", "wave:1,idle:1"])
    assert res.exit_code == 0 and "wave 0.0-1.0s" in res.output
    assert int(open_video(out).get(cv2.CAP_PROP_FRAME_COUNT)) == 30
    res = runner.invoke(app, ["data", "scenario", "--out", str(out), "--actions", "dance:1"])
    assert res.exit_code == 2 and "unknown action" in res.output


def test_train_with_an_empty_test_split_prints_n_a(tiny_synth, tmp_path):
    """Two groups: holdout keeps one for training, one for validation and none for testing."""
    data = tmp_path / "data"
    for f in sorted(tiny_synth.glob("*/*_g0[12]_*.mp4")):
        if f.parent.name in ("wave", "jump"):
            (data / f.parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(f, data / f.parent.name / f.name)
    config = tmp_path / "tiny.toml"
    config.write_text("[train]\njit_compile = false\n[train.sampling]\nseq_len = 4\nsize = 64\nclips_per_video = 1\n")
    res = runner.invoke(app, ["train", "--data", str(data), "--config", str(config), "--epochs", "1",
                              "--out", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "out" / "lrcn" / "metrics.json").read_text())
    assert m["split_sizes"]["test"] == 0 and m["test_accuracy"] is None and m["macro_f1"] is None
    assert "lrcn: test accuracy n/a  macro-F1 n/a" in res.output and "no test clips" in res.output


def test_fold_lines_print_n_a_for_a_fold_without_test_clips(tmp_path, capsys):
    from har.train.cli import _echo_metrics

    fold = {"fold": "fold 1", "test_accuracy": None, "macro_f1": None, "split_sizes": {"test": 0}}
    metrics = {"folds": [fold, {**fold, "fold": "fold 2", "test_accuracy": 0.5, "macro_f1": 0.25,
                                "split_sizes": {"test": 4}}],
               "protocol": "kfold:2", "mean_accuracy": 0.5, "std_accuracy": 0.0, "mean_macro_f1": None,
               "std_macro_f1": None, "saved_model": "trained on all the data", "test_accuracy": None, "macro_f1": None,
               "pooled": {"windows": {"count": 4, "accuracy": 0.5, "macro_f1": 0.25}, "videos": None},
               "num_params": 1234, "train_seconds": 3.0, "split_sizes": {"train": 8, "val": 2, "test": 0}}
    (tmp_path / "metrics.json").write_text(json.dumps(metrics))
    _echo_metrics("lrcn", tmp_path)
    out = capsys.readouterr().out
    assert "fold 1: accuracy n/a  macro-F1 n/a  (test 0 clips)" in out
    assert "fold 2: accuracy 0.500  macro-F1 0.250" in out
    assert "accuracy 0.500 +- 0.000  macro-F1 n/a +- n/a" in out
    assert "pooled over 4 test windows: accuracy 0.500" in out and "pooled over test videos: n/a" in out
    assert "saved model trained on all the data" in out and "test accuracy" not in out
