"""`har export` user errors and the export plumbing that needs no TensorFlow.

Every user error exits 2 with one sentence; a converter that dies is reported
with the target it was converting, not as a dead CLI.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from typer.testing import CliRunner

from har.cli.main import app
from har.export import data, worker
from har.export.checks import load_model_dir
from har.export.data import calibration_clips, load_splits
from har.export.errors import ExportError
from har.export.worker import run_worker
from har.models.folder import read_model_folder, write_split


def _export(*args: str):
    return CliRunner().invoke(app, ["export", *args])


def _model_dir(tmp_path, family="lrcn"):
    d = tmp_path / family
    d.mkdir()
    (d / "model.keras").write_bytes(b"not really")
    (d / "labels.json").write_text(json.dumps(["a", "b"]))
    (d / "config.json").write_text(json.dumps({"model": family, "seed": 5, "sampling": {"seq_len": 20, "size": 64}}))
    return d


def test_export_is_mounted_on_har():
    res = CliRunner().invoke(app, ["export", "--help"])
    assert res.exit_code == 0 and "--quant" in res.output and "--report" in res.output


@pytest.mark.parametrize("args, message", [
    (["--quant", "int9"], "unknown quantization 'int9': choose one of int8, dynamic, fp16, fp32; did you mean 'int8'?"),
    (["--model", "nowhere"], "model directory nowhere does not exist; train one first"),
    (["--samples", "0"], "--samples must be at least 1"),
])
def test_user_errors_exit_2_with_one_sentence(args, message):
    res = _export(*args)
    assert res.exit_code == 2
    assert message in res.output.replace("\n", " ") or message in res.output


def test_threads_is_still_accepted_hidden_and_says_latency_moved_to_bench():
    """Scripts that pass --threads keep working; the option is gone from --help and times nothing."""
    assert "--threads" not in _export("--help").output
    res = _export("--threads", "1,2", "--model", "nowhere")
    assert res.exit_code == 2 and "model directory nowhere does not exist" in res.output
    (notice,) = [line for line in res.output.splitlines() if "--threads" in line]
    assert "har bench --threads" in notice


def test_incomplete_or_unknown_model_dirs(tmp_path):
    d = _model_dir(tmp_path)
    (d / "labels.json").unlink()
    res = _export("--model", str(d))
    assert res.exit_code == 2 and "has no labels.json" in res.output
    other = _model_dir(tmp_path, "resnet")
    with pytest.raises(ExportError, match="holds a 'resnet' model, which has no TFLite export"):
        load_model_dir(other)


def test_out_dir_that_is_not_a_bundle_is_refused_before_converting(tmp_path):
    d = _model_dir(tmp_path)
    out = tmp_path / "docs"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    res = _export("--model", str(d), "--out", str(out), "--quant", "fp32", "--no-report")
    assert res.exit_code == 2 and "not empty and not a bundle" in res.output
    assert (out / "notes.txt").read_text() == "keep me"


def _with_split(tmp_path, videos: dict[str, list[str]]):
    """A model folder whose split.json names ``videos`` (side -> file names under ``tmp_path/data/a``)."""
    from har.models.folder import SplitVideo

    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    d = _model_dir(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    (d / "config.json").write_text(json.dumps({**cfg, "data": str(root)}))
    sides = {}
    for side in ("train", "val", "test"):
        sides[side] = []
        for name in videos.get(side, []):
            (root / "a" / name).write_bytes(b"")
            sides[side].append(SplitVideo(root / "a" / name, "a", name))
    write_split(d, root, "holdout", "holdout", ["a", "b"], sides)
    return read_model_folder(d)


def test_calibration_draws_only_training_clips_with_the_training_seed(tmp_path, monkeypatch):
    md = _with_split(tmp_path, {"train": ["t1.mp4", "t2.mp4"], "val": ["v.mp4"], "test": ["x.mp4"]})
    asked = []

    def fake_load_clips(videos, labels, sampling, cache):
        asked.append([v.path.name for v in videos])
        return np.arange(30, dtype=np.uint8).reshape(30, 1, 1, 1, 1), np.zeros(30, np.int32), []

    monkeypatch.setattr(data, "load_clips", fake_load_clips)
    train_x, test = load_splits(md, test=False)
    assert asked == [["t1.mp4", "t2.mp4"]] and test is None
    picked = calibration_clips(md, train_x, 10)
    assert len(picked) == 10 and np.array_equal(picked, calibration_clips(md, train_x, 10))
    assert len(calibration_clips(md, train_x, 500)) == 30


def test_split_paths_follow_the_data_root(tmp_path):
    """Paths are stored relative to the data root, so a folder pointed at a moved dataset finds its videos."""
    md = _with_split(tmp_path, {"train": ["t1.mp4"], "test": ["x.mp4"]})
    assert json.loads((md.path / "split.json").read_text())["videos"]["train"][0]["path"] == "a/t1.mp4"
    moved = tmp_path / "moved"
    (tmp_path / "data").rename(moved)
    md.config["data"] = str(moved)
    assert md.split().videos("test")[0].path == moved / "a" / "x.mp4"


def test_missing_videos_of_the_split_are_one_sentence(tmp_path):
    md = _with_split(tmp_path, {"train": ["t1.mp4"], "test": ["x.mp4"]})
    (tmp_path / "data" / "a" / "x.mp4").unlink()
    with pytest.raises(ExportError, match=r"need the data .* was trained on .*x\.mp4 is missing"):
        load_splits(md, test=True)


def test_folder_from_before_split_records_is_refused_in_one_sentence(tmp_path):
    """An older model folder still exports without data (fp32), but calibration needs its split."""
    d = _model_dir(tmp_path)
    res = _export("--model", str(d), "--out", str(tmp_path / "b"), "--quant", "int8", "--no-report")
    assert res.exit_code == 2
    assert "has no split.json (it was trained by an older har-edge); retrain it with `har train`" in res.output


def _fake_run(returncode: int, events: list[dict]):
    def run(cmd, **kw):
        spec = json.loads(open(cmd[-1]).read())
        with open(spec["progress"], "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in events)
        return subprocess.CompletedProcess(cmd, returncode)
    return run


def test_converter_crash_becomes_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(worker.subprocess, "run", _fake_run(-11, [
        {"event": "loaded", "tensorflow": "2.21.0", "keras": "3"},
        {"event": "start", "target": "window:fp32"}, {"event": "done", "target": "window:fp32", "seconds": 1},
        {"event": "start", "target": "window:int8"}]))
    with pytest.raises(ExportError) as e:
        run_worker({"model_dir": "x"}, tmp_path)
    msg = str(e.value)
    assert "was killed by SIGSEGV while converting window:int8" in msg and "worker-0.log" in msg


def test_worker_error_event_is_passed_on(tmp_path, monkeypatch):
    monkeypatch.setattr(worker.subprocess, "run", _fake_run(3, [
        {"event": "error", "message": "the convlstm graph uses TensorFlow ops with no TFLite builtin (MaxPool3D)"}]))
    with pytest.raises(ExportError, match=r"^the convlstm graph uses TensorFlow ops with no TFLite builtin"):
        run_worker({"model_dir": "x"}, tmp_path)


def test_converter_refusal_is_one_sentence_without_mlir_locations():
    from har.export.convert_worker import _converter_message

    text = ("<unknown>:0: error: loc(callsite(fused[\"MaxPool3D:\", \"convlstm_1/max_pooling3d_1/MaxPool3D@f\"] "
            "at fused[\"StatefulPartitionedCall:\", \"x\"])): 'tf.MaxPool3D' op is neither a custom op nor a flex op\n"
            "<unknown>:0: note: see current operation")
    msg = _converter_message(text, "convlstm", "int8")
    assert msg == ("the convlstm graph uses TensorFlow ops with no TFLite builtin (MaxPool3D), and Flex ops are not "
                   "an option because the LiteRT runtime has no Flex delegate")
    other = _converter_message("x.py:1: error: loc(\"a\"): requires element_shape to be static", "lrcn_window", "int8")
    assert other == "the TFLite converter refused the lrcn_window graph (int8): requires element_shape to be static"
