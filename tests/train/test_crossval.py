"""Cross-validation reports: pooled confusion over every fold's test windows and videos; the saved model is
trained on all the data and claims no test accuracy."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from har.train.cli import app
from har.train.crossval import fold_summary, pooled, video_votes
from har.train.fit import FoldRun, Splits, prepare_splits
from har.train.protocols import Fold, saved_fold

LABELS = ["a", "b"]


def _run(name: str, y: list[int], pred: list[int], videos: list[str] | None) -> FoldRun:
    y = np.asarray(y, np.int32)
    probs = np.eye(2)[pred] * 0.8 + 0.1
    empty = (np.zeros((0, 1)), np.zeros(0, np.int32))
    splits = Splits(LABELS, empty, empty, (np.zeros((len(y), 1)), y), {"train": [], "val": [], "test": [name]}, [],
                    videos)
    return FoldRun(Fold(name, [], [], []), None, splits, {"loss": [1.0]}, probs, 1.0)


def test_pooled_counts_every_window_once_where_the_mean_of_folds_weighs_folds():
    small = _run("fold 1", [0, 1, 1], [0, 1, 1], ["v1", "v2", "v2"])  # 3 windows, all right
    large = _run("fold 2", [0] * 4 + [1] * 4, [0, 1, 1, 1, 1, 0, 0, 0], ["v3"] * 4 + ["v4"] * 4)  # 2 of 8 right
    s = fold_summary([small, large], LABELS)
    assert s["mean_accuracy"] == pytest.approx((1.0 + 0.25) / 2)
    windows = s["pooled"]["windows"]
    assert windows["count"] == 11 and windows["accuracy"] == pytest.approx(5 / 11)
    assert windows["confusion"] == [[2, 3], [3, 3]]
    assert [f["confusion"] for f in s["folds"]] == [[[1, 0], [0, 2]], [[1, 3], [3, 1]]]
    videos = s["pooled"]["videos"]  # v1 a->a, v2 b->b, v3 a: 1 of 4 says a -> b, v4 b: 1 of 4 says b -> a
    assert videos["count"] == 4 and videos["confusion"] == [[1, 1], [1, 1]] and videos["accuracy"] == 0.5


def test_video_votes_average_the_windows_of_a_video():
    probs = np.asarray([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    truth, pred = video_votes(probs, np.asarray([1, 1, 1, 0]), ["x", "x", "x", "y"])
    assert truth.tolist() == [1, 0] and pred.tolist() == [1, 0]  # x: mean (0.47, 0.53)


def test_pooling_by_video_is_n_a_when_a_fold_does_not_know_its_videos():
    s = pooled([_run("fold 1", [0], [0], ["v1"]), _run("fold 2", [1], [1], None)], LABELS)
    assert s["windows"]["count"] == 2 and s["videos"] is None


def test_a_two_fold_run_pools_its_folds_and_saves_a_model_trained_on_all_the_data(tiny_synth, tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text("[train]\njit_compile = false\ninput_pipeline = \"memory\"\n"
                      "[train.sampling]\nseq_len = 4\nsize = 64\nclips_per_video = 2\n")
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["train", "--data", str(tiny_synth), "--config", str(config), "--epochs", "1",
                                   "--classes", "idle,walk_left,walk_right", "--protocol", "kfold:2",
                                   "--out", str(out), "--cache-dir", str(tmp_path / "cache")])
    assert res.exit_code == 0, res.output
    m = json.loads((out / "lrcn" / "metrics.json").read_text())
    folds = m["folds"]
    tested = sum(f["split_sizes"]["test"] for f in folds)
    assert len(folds) == 2 and tested == 12 * 2  # 12 videos, each tested once, 2 windows a video
    assert [np.asarray(f["confusion"]).sum() for f in folds] == [f["split_sizes"]["test"] for f in folds]
    windows, videos = m["pooled"]["windows"], m["pooled"]["videos"]
    pooled_confusion = np.asarray(windows["confusion"])
    assert pooled_confusion.sum() == tested and windows["count"] == tested
    assert (pooled_confusion == sum(np.asarray(f["confusion"]) for f in folds)).all()
    assert windows["accuracy"] == pytest.approx(np.trace(pooled_confusion) / tested)
    assert videos["count"] == 12 and np.asarray(videos["confusion"]).sum() == 12
    # The saved model: every group trained it, nothing tested it, and nothing says it was tested.
    assert m["model_trained_on"] == "all" and "trained on all the data" in m["saved_model"]
    assert m["test_accuracy"] is None and m["macro_f1"] is None and m["confusion"] == []
    assert m["split_sizes"]["test"] == 0 and m["split_sizes"]["train"] + m["split_sizes"]["val"] == 24
    assert sorted(m["split_groups"]["train"] + m["split_groups"]["val"]) == ["g01", "g02", "g03", "g04"]
    report = (out / "lrcn" / "evaluation.md").read_text()
    assert f"pooled over {tested} test windows" in report and "pooled over 12 test videos" in report
    assert "saved model trained on all the data" in res.output.replace("\n", " ")
    assert "lrcn: test accuracy" not in res.output
    # `har export` reloads what the saved model trained on: every clip, no test side to report on.
    from har.train.config import TrainConfig

    cfg = TrainConfig.from_dict(json.loads((out / "lrcn" / "config.json").read_text()))
    splits = prepare_splits(cfg)
    assert splits.sizes() == m["split_sizes"] and splits.groups == m["split_groups"]


def test_the_saved_fold_of_holdout_is_its_split_and_of_cross_validation_every_video(tiny_synth):
    from har.train.dataset import list_videos
    from har.train.protocols import make_folds

    videos, _ = list_videos(tiny_synth)
    holdout = saved_fold(videos, "holdout", 0.25, 0.25, 3)
    assert holdout == make_folds(videos, "holdout", 0.25, 0.25, 3)[0]
    every = saved_fold(videos, "kfold:2", 0.25, 0.25, 3)
    assert every.test == [] and sorted(map(str, every.train + every.val)) == sorted(str(v) for v in videos)
    assert every.val and not {v.group for v in every.val} & {v.group for v in every.train}
