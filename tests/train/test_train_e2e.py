"""One epoch on a tiny synthetic set: every artifact is written and makes sense."""

import json

import cv2
import numpy as np

from har.train.config import TrainConfig


def test_training_writes_all_artifacts(tiny_model_dir):
    d = tiny_model_dir
    for name in ("model.keras", "labels.json", "config.json", "history.json", "metrics.json",
                 "curves.png", "confusion.png"):
        assert (d / name).is_file() and (d / name).stat().st_size > 0, name
    labels = json.loads((d / "labels.json").read_text())
    assert labels == sorted(labels) and len(labels) == 7
    cfg = TrainConfig.from_dict(json.loads((d / "config.json").read_text()))
    assert cfg.model == "lrcn" and cfg.sampling.interval_s == 0.1 and cfg.sampling.seq_len == 20
    hist = json.loads((d / "history.json").read_text())
    assert {"loss", "accuracy", "val_loss", "val_accuracy"} <= set(hist) and len(hist["loss"]) == 1
    m = json.loads((d / "metrics.json").read_text())
    assert m["num_params"] == 73_060 - 4 * 33 + 7 * 33  # the seed LRCN with a 7-class head
    assert 0.0 <= m["test_accuracy"] <= 1.0 and 0.0 <= m["macro_f1"] <= 1.0
    assert set(m["per_class"]) == set(labels)
    assert all({"precision", "recall"} <= set(v) for v in m["per_class"].values())
    sizes = m["split_sizes"]
    assert sizes["train"] > 0 and sizes["test"] > 0
    assert np.asarray(m["confusion"]).sum() == sizes["test"]
    groups = m["split_groups"]
    assert not set(groups["train"]) & set(groups["test"])
    assert m["train_seconds"] > 0
    img = cv2.imread(str(d / "curves.png"))
    assert img is not None and img.shape[0] > 100
