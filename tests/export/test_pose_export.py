"""The pose head: trained on keypoints, exported to a bundle, run on the device without TensorFlow.

The keypoint windows here are generated (a BlazePose-shaped skeleton that
waves, squats or stands still), so the head trains in seconds and needs no
video; the real pose models are still copied into the bundle, so these tests
need them in the cache (fetched once by the fixture; skipped offline, failed
in CI). The trained head is the session fixture ``trained`` of
tests/export/conftest.py, shared with tests/export/test_pose_cache_bundle.py.
``tests/export/test_pose_realclips.py`` runs the whole path on real video.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bundle import BundleError, load_bundle
from tests.edge.test_no_tensorflow import run_blocked
from tests.pose_data import LABELS, SEQ_LEN


def test_pose_model_dir_has_the_same_artifacts_as_pixel_models(trained):
    d = trained["model_dir"]
    for name in ("model.keras", "labels.json", "config.json", "history.json", "metrics.json", "curves.png",
                 "confusion.png"):
        assert (d / name).is_file(), name
    cfg = json.loads((d / "config.json").read_text())
    assert (cfg["model"], cfg["encoder"]) == ("pose_lstm", "pose")
    metrics = json.loads((d / "metrics.json").read_text())
    assert metrics["test_accuracy"] >= 0.9  # three clearly different motions, 12 test windows


def test_pose_bundle_holds_the_head_and_both_pose_models(trained, real_pose_models):
    b = load_bundle(trained["bundle"])
    assert b.is_pose and b.schema_version == 2 and b.quantization == "int8" and b.labels == LABELS
    assert b.models["head"].input.shape == (1, SEQ_LEN, b.feature_dim) and b.models["head"].input.dtype == "int8"
    assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in b.models["head"].ops
    assert b.model_file("pose_landmarks").read_bytes() == real_pose_models.landmarks.read_bytes()
    assert b.model_file("pose_detector").read_bytes() == real_pose_models.detector.read_bytes()
    assert b.metadata["calibration"]["split"] == "train"
    assert b.metadata["pose"]["landmark_every"] == [1] and b.metadata["pose"]["default_landmark_every"] == 1
    assert "Apache License 2.0" in (trained["bundle"] / "NOTICE-pose-models.txt").read_text()


def test_pose_parity_check_is_the_bundle_head_against_keras(trained):
    """The same check as a pixel bundle's (har.export.report), on the test split's keypoint features."""
    from har.edge.interpreter import TfliteModel
    from har.export.report import render_markdown
    from har.models.metrics import classification_metrics

    rep = trained["report"]
    assert json.loads((trained["bundle"] / "report.json").read_text()) == rep
    assert (trained["bundle"] / "report.md").read_text() == render_markdown(rep)  # the pixel renderer
    assert (rep["encoder"], rep["bundle_quantization"], rep["kind"]) == ("pose", "int8", "parity")
    assert [r["name"] for r in rep["variants"]] == ["keras", "int8"]  # no other head is converted
    _, (x, y) = trained["features"]
    assert rep["test_split"]["samples"] == len(y) and rep["calibration"]["split"] == "train"
    head = TfliteModel(load_bundle(trained["bundle"]).model_file("head"))
    probs = np.stack([head.run(w) for w in x])
    keras, row = trained["keras_probs"], rep["variants"][1]
    assert row["files"] == ["head.tflite"] and row["bytes"] == (trained["bundle"] / "head.tflite").stat().st_size
    assert row["test_accuracy"] == pytest.approx(classification_metrics(y, probs.argmax(1), LABELS)["accuracy"])
    assert row["agreement_with_keras"] == pytest.approx((probs.argmax(1) == keras.argmax(1)).mean())
    assert row["max_abs_diff"] == pytest.approx(np.abs(probs - keras).max(), abs=1e-5)
    assert row["agreement_with_keras"] >= 0.9 and row["float_ops"] == []  # a full-integer head
    assert not any("ms" in key for key in row)


def test_pose_bundle_classifies_keypoint_windows_without_tensorflow(trained):
    res = run_blocked("""
        import json, sys
        import numpy as np
        from har.edge.bundle import load_bundle
        from har.edge.pipeline import Classifier

        clf = Classifier(load_bundle(sys.argv[1]))
        with np.load(sys.argv[2]) as z:
            probs = [clf.classify(w).tolist() for w in z["raw"]]
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print(json.dumps({"probs": probs, "heavy": heavy, "pose": clf.pose, "streaming": clf.streaming}))
    """, str(trained["bundle"]), str(trained["windows"]))
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["heavy"] == [] and out["pose"] and out["streaming"]
    probs = np.asarray(out["probs"])
    assert probs.shape == trained["keras_probs"].shape
    assert (probs.argmax(-1) == trained["keras_probs"].argmax(-1)).mean() >= 0.9
    assert np.abs(probs - trained["keras_probs"]).max() < 0.1  # int8 head against the Keras model


def test_tampered_pose_model_in_a_real_bundle_is_refused(trained, tmp_path):
    from har.edge.cli import app

    copy = tmp_path / "bundle"
    shutil.copytree(trained["bundle"], copy)
    f = copy / "pose_landmarks.tflite"
    data = bytearray(f.read_bytes())
    data[len(data) // 2] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"pose_landmarks\.tflite does not match the sha256"):
        load_bundle(copy)
    res = CliRunner().invoke(app, ["info", str(copy)])
    assert res.exit_code == 2 and "does not match the sha256" in res.output and "Traceback" not in res.output


def test_har_edge_info_shows_the_pose_encoder(trained):
    from har.edge.cli import app

    res = CliRunner().invoke(app, ["info", str(trained["bundle"])])
    assert res.exit_code == 0, res.output
    assert "schema har-edge.bundle v2" in res.output and "encoder    pose:" in res.output
    assert "pose_detector" in res.output and "pose_landmarks" in res.output


def test_pose_bundle_refuses_streaming_off_and_a_delegate(trained):
    from har.edge.pipeline import Classifier, PipelineError

    b = load_bundle(trained["bundle"])
    with pytest.raises(PipelineError, match="always encodes frame by frame"):
        Classifier(b, streaming="off")
    with pytest.raises(PipelineError, match="pose models run on the CPU"):
        Classifier(b, delegate="edgetpu")


def test_device_bench_splits_a_pose_frame_into_detector_landmarks_and_head(trained):
    from har.edge.bench import ROW_FIELDS, bench_bundle, pose_lines

    result = bench_bundle(trained["bundle"], (1,), rounds=1, passes=1)
    (row,) = result["rows"]
    assert set(row) == set(ROW_FIELDS) and row["status"] == "ok" and row["variant"] == "int8"
    assert row["files"] == ["head.tflite", "pose_detector.tflite", "pose_landmarks.tflite"]
    int8 = next(r for r in trained["report"]["variants"] if r["name"] == "int8")
    assert row["test_accuracy"] == int8["test_accuracy"]  # from the bundle's report.json
    pose = row["pose"]
    assert pose["frames"] > 0 and 0 < pose["detector_rate"] <= 1 and pose["detector_ms"] > 0
    assert 0 < pose["head_ms"]["p50"] < row["latency_frame_ms"]["1"]["p50"]
    (line,) = pose_lines(result["rows"])
    assert "pose detector" in line and "head" in line


def test_export_without_the_pose_models_says_how_to_fetch_them(trained, tmp_path, monkeypatch):
    from har.cli.main import app

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    res = CliRunner().invoke(app, ["export", "--model", str(trained["model_dir"]), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "har models fetch pose" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("pose_fields", [{"landmark_every": [0]}, {"landmark_every": [1, 2], "default_landmark_every": 3},
                                         {"landmark_every": "2"}])
def test_a_bundle_declaring_impossible_pose_modes_is_refused_in_one_sentence(trained, tmp_path, pose_fields):
    from har.edge.bundle import BundleError

    copy = tmp_path / "b"
    shutil.copytree(trained["bundle"], copy)
    meta = json.loads((copy / "metadata.json").read_text())
    meta["pose"].update(pose_fields)
    (copy / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match="landmark_every"):
        load_bundle(copy)


def test_the_lite_declaration_goes_from_the_training_config_into_the_metadata_only_when_true():
    from types import SimpleNamespace

    from har.export.pose import landmark_modes
    from har.export.tflite import ExportError

    def modes(**cfg):
        return landmark_modes(SimpleNamespace(config=cfg, path=Path("m")))

    assert modes(lite_landmarks=True) == {"landmark_every": [1], "default_landmark_every": 1, "lite_landmarks": True}
    assert "lite_landmarks" not in modes() and "lite_landmarks" not in modes(lite_landmarks=False)
    with pytest.raises(ExportError, match="lite_landmarks must be true or false, not 'yes'"):
        modes(lite_landmarks="yes")
