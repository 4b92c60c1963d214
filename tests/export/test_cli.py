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

from har.export import tflite
from har.export.tflite import ExportError, ModelDir, calibration_clips, load_model_dir, run_worker
from har.train.cli import app


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
    (["--threads", "0,x"], "--threads must be comma-separated positive integers"),
    (["--samples", "0"], "--samples must be at least 1"),
])
def test_user_errors_exit_2_with_one_sentence(args, message):
    res = _export(*args)
    assert res.exit_code == 2
    assert message in res.output.replace("\n", " ") or message in res.output


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


def test_calibration_draws_only_training_clips_with_the_training_seed(tmp_path, monkeypatch):
    md = ModelDir(tmp_path, "lrcn", ["a", "b"], {"model": "lrcn", "seed": 5, "data": str(tmp_path)}, {})
    asked = []

    def fake_prepare_splits(cfg, only):
        asked.append(only)
        train = (np.arange(30, dtype=np.uint8).reshape(30, 1, 1, 1, 1), np.zeros(30, np.int32))
        return type("S", (), {"labels": ["a", "b"], "train": train, "test": None})()

    monkeypatch.setattr("har.train.fit.prepare_splits", fake_prepare_splits)
    train_x, test = tflite.load_splits(md, test=False)
    assert asked == [("train",)] and test is None
    picked = calibration_clips(md, train_x, 10)
    assert len(picked) == 10 and np.array_equal(picked, calibration_clips(md, train_x, 10))
    assert len(calibration_clips(md, train_x, 500)) == 30


def _fake_run(returncode: int, events: list[dict]):
    def run(cmd, **kw):
        spec = json.loads(open(cmd[-1]).read())
        with open(spec["progress"], "w") as f:
            f.writelines(json.dumps(e) + "\n" for e in events)
        return subprocess.CompletedProcess(cmd, returncode)
    return run


def test_converter_crash_becomes_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(tflite.subprocess, "run", _fake_run(-11, [
        {"event": "loaded", "tensorflow": "2.21.0", "keras": "3"},
        {"event": "start", "target": "window:fp32"}, {"event": "done", "target": "window:fp32", "seconds": 1},
        {"event": "start", "target": "window:int8"}]))
    with pytest.raises(ExportError) as e:
        run_worker({"model_dir": "x"}, tmp_path)
    msg = str(e.value)
    assert "was killed by SIGSEGV while converting window:int8" in msg and "worker-0.log" in msg


def test_worker_error_event_is_passed_on(tmp_path, monkeypatch):
    monkeypatch.setattr(tflite.subprocess, "run", _fake_run(3, [
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
