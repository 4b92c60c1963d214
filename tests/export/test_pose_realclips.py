"""The pose path end to end on real people: `har train --encoder pose`, `har export`, `har-edge run`.

Real footage is needed because BlazePose finds no person in the synthetic
stick figures. The five real clips are one per action, so
:func:`tests.pose_data.realclip_dataset` turns each into three groups (as is,
backwards, mirrored and cropped): enough for a group-disjoint split, and
enough to prove the mechanics. It proves nothing about accuracy; nothing
here asserts any.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.edge.test_no_tensorflow import run_blocked
from tests.pose_data import realclip_dataset

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pose_run(real_pose_models, realclips, tmp_path_factory):
    """Train and export with the real CLI on the real-clip set; returns the paths."""
    from har.cli.main import app

    root = tmp_path_factory.mktemp("pose-real")
    data = realclip_dataset(realclips, root / "data")
    runner = CliRunner()
    res = runner.invoke(app, ["train", "--encoder", "pose", "--data", str(data), "--epochs", "10",
                              "--out", str(root / "artifacts"), "--cache-dir", str(root / "cache")])
    assert res.exit_code == 0, res.output
    model_dir = root / "artifacts" / "pose_lstm"
    res_export = runner.invoke(app, ["export", "--model", str(model_dir), "--out", str(root / "bundle"),
                                     "--samples", "20"])
    assert res_export.exit_code == 0, res_export.output
    return {"root": root, "data": data, "model_dir": model_dir, "bundle": root / "bundle",
            "train_output": res.output, "export_output": res_export.output, "realclips": realclips}


def test_train_writes_pose_artifacts_and_caches_keypoints_per_video(pose_run):
    assert "pose_lstm: test accuracy" in pose_run["train_output"]
    cfg = json.loads((pose_run["model_dir"] / "config.json").read_text())
    assert cfg["encoder"] == "pose" and cfg["sampling"]["interval_s"] == 0.1 and cfg["sampling"]["seq_len"] == 20
    metrics = json.loads((pose_run["model_dir"] / "metrics.json").read_text())
    assert metrics["split_sizes"]["test"] > 0 and set(metrics["split_groups"]["test"]).isdisjoint(
        metrics["split_groups"]["train"])
    assert metrics["person_found_rate"]["train"] > 0.5  # real people: BlazePose finds most of them
    cached = sorted((pose_run["root"] / "cache" / "keypoints").glob("*.npz"))
    assert len(cached) == 15  # one per video
    with np.load(cached[0]) as z:
        assert z["poses"].shape[1:] == (20, 33, 5) and z["poses"].dtype == np.float32


def test_export_checks_the_head_on_the_split_training_held_out(pose_run):
    """The parity check re-reads the model folder's own test split: Keras scores there what training recorded."""
    rep = json.loads((pose_run["bundle"] / "report.json").read_text())
    metrics = json.loads((pose_run["model_dir"] / "metrics.json").read_text())
    keras, head = rep["variants"]
    assert (keras["name"], head["name"]) == ("keras", "int8")
    assert rep["test_split"]["samples"] == metrics["split_sizes"]["test"]
    assert rep["test_split"]["groups"] == metrics["split_groups"]["test"]
    assert keras["test_accuracy"] == pytest.approx(metrics["test_accuracy"])
    checks = [line.strip() for line in pose_run["export_output"].splitlines() if line.startswith("  ")]
    assert [c.split(" ")[0] for c in checks] == ["keras", "int8"]
    assert f"on {metrics['split_sizes']['test']} held-out windows of keypoint features" in checks[1]


def test_pose_training_runs_fold_protocols_on_the_cached_keypoints(pose_run, tmp_path):
    from har.cli.main import app

    res = CliRunner().invoke(app, ["train", "--encoder", "pose", "--data", str(pose_run["data"]), "--epochs", "3",
                                   "--protocol", "kfold:3", "--folds", "2", "--out", str(tmp_path),
                                   "--cache-dir", str(pose_run["root"] / "cache")])
    assert res.exit_code == 0, res.output
    m = json.loads((tmp_path / "pose_lstm" / "metrics.json").read_text())
    assert m["protocol"] == "kfold:3" and len(m["folds"]) == 2 and m["mean_accuracy"] is not None
    tested = [set(f["test_groups"]) for f in m["folds"]]
    assert tested[0].isdisjoint(tested[1]) and "+-" in res.output
    assert len(list((pose_run["root"] / "cache" / "keypoints").glob("*.npz"))) == 15  # nothing estimated again


def test_edge_windows_match_the_training_keypoints(pose_run):
    """Every training window of a video holds exactly the keypoints of the device's window at that place.

    Both track the person through the whole video on the same sampling grid,
    so the tracker state at a window's start is the same too.
    """
    from har.edge.bundle import load_bundle
    from har.edge.pipeline import Classifier
    from har.edge.pose.assets import pose_models
    from har.edge.predict import windows_of_file
    from har.models.clips import Sampling
    from har.models.keypoints import keypoint_cache_dir, video_keypoints, window_starts

    video = pose_run["data"] / "drink_water" / "v_drink_water_g01_c01.avi"
    cfg = json.loads((pose_run["model_dir"] / "config.json").read_text())
    sampling = Sampling(**cfg["sampling"])
    trained, _ = video_keypoints(video, sampling, pose_models(), keypoint_cache_dir(pose_run["root"] / "cache"))
    bundle = load_bundle(pose_run["bundle"])
    clf = Classifier(bundle)
    device = list(windows_of_file(video, bundle, clf.item))  # stride 1: window k starts at sampled frame k
    starts = window_starts(len(device) + sampling.seq_len - 1, sampling)
    assert len(starts) == len(trained) >= 2 and starts[0] == 0
    assert device[0].shape == (20, 33, 5)
    for start, window in zip(starts, trained, strict=True):
        np.testing.assert_allclose(device[start], window, rtol=0, atol=1e-6, equal_nan=True)


def test_har_edge_runs_the_pose_bundle_on_a_real_clip_without_tensorflow(pose_run, tmp_path):
    events = tmp_path / "events.jsonl"
    video = pose_run["realclips"] / "drink_water_1080p.avi"
    res = run_blocked("""
        import sys
        from har.edge.cli import app
        try:
            app(sys.argv[1:])
        except SystemExit as e:
            code = e.code
        heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print("HEAVY", heavy, "CODE", code)
    """, "run", "--source", str(video), "--bundle", str(pose_run["bundle"]), "--jsonl", str(events),
                      "--output", str(tmp_path / "annotated.mp4"))
    assert res.returncode == 0, res.stderr
    assert "HEAVY [] CODE 0" in res.stdout, res.stdout + res.stderr
    done = next(line for line in res.stderr.splitlines() if "done:" in line)
    frames, inferences = (int(w) for w in done.split("done:")[1].replace(",", "").split()[::2][:2])
    assert frames == 103 and inferences > 0  # 3.4 s at 30 fps: windows from 1.9 s on
    assert (tmp_path / "annotated.mp4").stat().st_size > 0


def test_har_edge_predict_names_one_of_the_trained_actions(pose_run):
    res = run_blocked("""
        import sys
        from har.edge.cli import app
        app(sys.argv[1:])
    """, "predict", str(pose_run["realclips"] / "arm_wrestling.mp4"), "--bundle", str(pose_run["bundle"]))
    assert res.returncode == 0, res.stderr
    label = res.stdout.split("Action Predicted:")[1].split()[0]
    assert label in json.loads((pose_run["model_dir"] / "labels.json").read_text())


def test_har_bench_times_a_pose_bundle_alone_on_real_footage(pose_run, tmp_path):
    """`har bench --bundle` needs no pixel models; `--video` with a person shows the tracking rate."""
    from har.cli.main import app

    video = pose_run["realclips"] / "v_ApplyEyeMakeup_g01_c01.avi"
    res = CliRunner().invoke(app, ["bench", "--models", str(tmp_path / "none"), "--bundle", str(pose_run["bundle"]),
                                   "--video", str(video), "--out", str(tmp_path / "bench"), "--threads", "1",
                                   "--rounds", "1", "--passes", "1"])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "bench" / "bench.json").read_text())
    assert report["video"]["file"] == video.name and report["video"]["size"] == "320x240"
    (row,) = [r for r in report["rows"] if r["backend"].startswith("ai-edge-litert")]
    pose = row["pose"]
    assert row["status"] == "ok" and pose["landmark_runs"] == pose["frames"] > 100
    assert pose["detector_rate"] < 0.05  # one person, tracked: the detector ran at the start only
    assert "nobody is found" not in (tmp_path / "bench" / "bench.md").read_text()


def test_export_with_pose_models_cache_gives_a_small_bundle_that_runs(pose_run, tmp_path):
    """`har export --pose-models cache` from the CLI: head, metadata and report; the device finds the rest."""
    from har.cli.main import app

    out = tmp_path / "bundle-cache"
    res = CliRunner().invoke(app, ["export", "--model", str(pose_run["model_dir"]), "--out", str(out),
                                   "--samples", "20", "--pose-models", "cache"])
    assert res.exit_code == 0, res.output
    assert res.output.count("(from the pose cache)") == 2
    assert sorted(p.name for p in out.iterdir()) == ["head.tflite", "metadata.json", "report.json", "report.md"]
    res = run_blocked("""
        import sys
        from har.edge.cli import app
        app(sys.argv[1:])
    """, "predict", str(pose_run["realclips"] / "actions/walk/weizmann_ido_walk.avi"), "--bundle", str(out))
    assert res.returncode == 0, res.stderr
    assert "Action Predicted:" in res.stdout and "18 of 20 frames are from the clip" in res.stdout
