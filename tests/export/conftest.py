"""A pose head trained on generated keypoints and exported twice: with the pose models, and without.

Session-scoped: the head trains in seconds, but each export converts it in a
TensorFlow subprocess, and several modules use the same bundles.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.pose_data import LABELS, SEQ_LEN, keypoint_set


@pytest.fixture(scope="session")
def trained(real_pose_models, tmp_path_factory):
    """A pose_lstm trained on generated keypoints, its artifacts, the raw test windows and an int8 bundle."""
    import keras

    from har.edge.pose.features import FEATURE_DIM
    from har.export.pose import export_pose
    from har.models import build_model
    from har.models.keypoints import window_features
    from har.train.config import TrainConfig
    from har.train.fit import Splits, write_artifacts

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
            "keras_probs": keras_probs, "y": yte, "features": (xtr, (xte, yte))}


@pytest.fixture(scope="session")
def cache_bundle(trained, tmp_path_factory):
    """The same head exported with ``--pose-models cache`` from a model folder whose config.json sets
    ``min_found_fraction`` 0.6: head, metadata and report only; the pose models stay in the cache."""
    import json
    import shutil

    from har.export.pose import export_pose

    root = tmp_path_factory.mktemp("pose-cache")
    model_dir = root / "pose_lstm"
    shutil.copytree(trained["model_dir"], model_dir)
    cfg = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps({**cfg, "min_found_fraction": 0.6}))
    bundle, report = export_pose(model_dir, root / "bundle", "int8", representative_samples=24,
                                 features=trained["features"], pose_models="cache")
    return bundle
