"""The pose path's Pareto bench: every variant measured on the same real frames, rows in har bench's fields."""

from __future__ import annotations

import shutil

import pytest

from har.edge.bench import ROW_FIELDS
from har.edge.pose.modes import PoseMode
from har.edge.pose.path_bench import PathVariant, default_variants, measure, pareto, render


@pytest.fixture(scope="module")
def one_clip(realclips, tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    (root / "walk").mkdir()
    shutil.copy(realclips / "actions" / "walk" / "weizmann_ido_walk.avi", root / "walk")
    return root


def test_skipping_frames_runs_the_landmark_model_less_and_rows_have_the_bench_fields(one_clip, real_pose_models):
    from har.edge.default_model import default_bundle_path

    b = str(default_bundle_path())
    variants = [PathVariant("every frame", b, PoseMode(1)), PathVariant("every 3rd frame", b, PoseMode(3)),
                PathVariant("still", b, PoseMode(1, still_threshold=2.0))]
    from har.train.motion.score import score_bundle

    report = measure(variants, one_clip, rounds=1, motion_actors=1, log=lambda _: None,
                     motion_accuracy=lambda b, k, n: score_bundle(b, actors=n, landmark_every=k)["accuracy"])
    rows = {r["variant"]: r for r in report["rows"]}
    assert all(set(r) == set(ROW_FIELDS) for r in rows.values())
    every, third = rows["every frame"]["pose"], rows["every 3rd frame"]["pose"]
    assert every["sampled_frames"] == third["sampled_frames"] > 10
    assert every["landmark_share"] >= 0.9 and third["landmark_share"] <= 0.4
    assert every["real_window_accuracy_open"] is not None and 0 <= every["motion_accuracy"] <= 1
    assert rows["still"]["pose"]["motion_accuracy"] is None  # decided on pixels: no generated figure
    assert pareto(report["rows"]) and "| every 3rd frame |" in render(report)


def test_the_default_variants_cover_threads_modes_still_skip_and_no_tracking():
    names = [v.name for v in default_variants("b", {"0.2 s x 10": "c"})]
    assert len(names) == len(set(names)) == 11
    assert "every frame, 2 threads" in names and "every frame, detector every frame" in names
    assert "0.2 s x 10, every 2nd frame" in names
