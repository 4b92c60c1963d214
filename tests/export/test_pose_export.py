"""The pose head: trained on keypoints, exported to a bundle, run on the device without TensorFlow.

The keypoint windows here are generated (a BlazePose-shaped skeleton that
waves, squats or stands still), so the head trains in seconds and needs no
video; the real pose models are still copied into the bundle, so these tests
need them in the cache (fetched once by the fixture; skipped offline, failed
in CI). ``tests/export/test_pose_realclips.py`` runs the whole path on real
video.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bundle import BundleError, load_bundle
from tests.edge.test_no_tensorflow import run_blocked

LABELS = ["squat", "still", "wave"]
SEQ_LEN = 20
#: Rough BlazePose layout (x, y in frame fractions) of the landmarks that move; the rest sit near the head.
JOINTS = {11: (0.45, 0.35), 12: (0.55, 0.35), 13: (0.42, 0.45), 14: (0.58, 0.45), 15: (0.40, 0.55),
          16: (0.60, 0.55), 23: (0.47, 0.60), 24: (0.53, 0.60), 25: (0.47, 0.75), 26: (0.53, 0.75),
          27: (0.47, 0.90), 28: (0.53, 0.90)}
RIGHT_ARM = (14, 16, 18, 20, 22)


def keypoint_window(label: str, rng: np.random.Generator) -> np.ndarray:
    """``(SEQ_LEN, 33, 5)`` raw landmarks of one person doing ``label``, a few frames missing (NaN)."""
    base = np.tile(np.array([0.5, 0.2], np.float32), (33, 1))
    for i, xy in JOINTS.items():
        base[i] = xy
    for hand, wrist in ((17, 15), (19, 15), (21, 15), (18, 16), (20, 16), (22, 16), (29, 27), (31, 27),
                        (30, 28), (32, 28)):
        base[hand] = base[wrist] + 0.01
    base = base * rng.uniform(0.8, 1.2) + rng.uniform(-0.1, 0.1, 2)
    t = np.arange(SEQ_LEN) / SEQ_LEN
    phase = rng.uniform(0, 2 * np.pi)
    out = np.zeros((SEQ_LEN, 33, 5), np.float32)
    for k in range(SEQ_LEN):
        xy = base.copy()
        if label == "wave":
            xy[list(RIGHT_ARM), 1] -= 0.15 * (1 + np.sin(2 * np.pi * 2 * t[k] + phase))
        elif label == "squat":
            xy[:25, 1] += 0.12 * (1 - np.cos(2 * np.pi * t[k]))
        out[k, :, :2] = xy + rng.normal(0, 0.004, xy.shape)
        out[k, :, 2] = rng.normal(0, 0.05, 33)
        out[k, :, 3:] = 0.9
    out[rng.choice(SEQ_LEN, 2, replace=False)] = np.nan
    return out


def keypoint_set(n_per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(LABELS)), n_per_class).astype(np.int32)
    return np.stack([keypoint_window(LABELS[i], rng) for i in y]), y


@pytest.fixture(scope="module")
def trained(real_pose_models, tmp_path_factory):
    """A pose_lstm trained on generated keypoints, its artifacts, the raw test windows and an int8 bundle."""
    import keras

    from har.edge.pose.features import FEATURE_DIM
    from har.export.pose import export_pose
    from har.models import build_model
    from har.train.config import TrainConfig
    from har.train.fit import Splits, write_artifacts
    from har.train.pose import window_features

    root = tmp_path_factory.mktemp("pose")
    keras.utils.set_random_seed(0)
    raw_tr, ytr = keypoint_set(12, seed=1)
    raw_te, yte = keypoint_set(4, seed=2)
    ones = np.ones(len(raw_tr), np.float32)
    xtr, xte = window_features(raw_tr, ones), window_features(raw_te, ones[:len(raw_te)])
    cfg = TrainConfig(model="pose_lstm", encoder="pose", data=str(root / "generated"), out=str(root / "artifacts"),
                      epochs=15, batch_size=8, learning_rate=3e-3)
    model = build_model("pose_lstm", len(LABELS), SEQ_LEN, feature_dim=FEATURE_DIM)
    model.compile(optimizer=keras.optimizers.Adam(cfg.learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    onehot = np.eye(len(LABELS), dtype=np.float32)
    hist = model.fit(xtr, onehot[ytr], epochs=cfg.max_epochs, batch_size=cfg.batch_size, verbose=0)
    keras_probs = model.predict(xte, verbose=0)
    empty = (np.zeros((0, SEQ_LEN, FEATURE_DIM), np.float32), np.zeros(0, np.int32))
    splits = Splits(LABELS, (xtr, ytr), empty, (xte, yte), {"train": ["g1"], "val": [], "test": ["g2"]}, [])
    model_dir = write_artifacts(cfg, model, splits, hist.history, keras_probs, 1.0, {"encoder": "pose"})
    bundle, report = export_pose(model_dir, root / "bundle", "int8", representative_samples=24,
                                 features=(xtr, (xte, yte)))
    np.savez(root / "test_windows.npz", raw=raw_te, y=yte, keras=keras_probs)
    return {"model_dir": model_dir, "bundle": bundle, "report": report, "windows": root / "test_windows.npz",
            "keras_probs": keras_probs, "y": yte}


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
    assert "Apache License 2.0" in (trained["bundle"] / "NOTICE-pose-models.txt").read_text()
    rows = {r["name"]: r for r in trained["report"]["variants"]}
    assert set(rows) == {"keras", "fp32", "int8"}
    assert rows["fp32"]["agreement_with_keras"] == 1.0 and rows["fp32"]["max_abs_diff"] < 1e-4
    assert rows["int8"]["agreement_with_keras"] >= 0.9 and rows["int8"]["head_ms"]["p50"] > 0
    assert (trained["bundle"] / "report.md").read_text().count("|") > 20


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
    from har.train.cli import app

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    res = CliRunner().invoke(app, ["export", "--model", str(trained["model_dir"]), "--out", str(tmp_path / "b")])
    assert res.exit_code == 2 and "har models fetch pose" in res.output and "Traceback" not in res.output
    assert not (tmp_path / "b").exists()
