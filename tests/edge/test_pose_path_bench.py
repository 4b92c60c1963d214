"""The pose path's Pareto bench: every variant measured on the same real frames, rows in har bench's fields."""

from __future__ import annotations

import shutil

import pytest

from har.edge.bench import ROW_FIELDS
from har.edge.pose.modes import PoseMode
from har.edge.pose.path_bench import REFERENCE, PathVariant, default_variants, measure, pareto, render


@pytest.fixture(scope="module")
def one_clip(realclips, tmp_path_factory):
    root = tmp_path_factory.mktemp("clips")
    (root / "walk").mkdir()
    shutil.copy(realclips / "actions" / "walk" / "weizmann_ido_walk.avi", root / "walk")
    return root


def test_skipping_frames_runs_the_landmark_model_less_and_rows_have_the_bench_fields(one_clip, real_pose_models):
    from har.edge.default_model import default_bundle_path

    b = str(default_bundle_path())
    variants = [PathVariant(REFERENCE, b, PoseMode(1), prune=False), PathVariant("every frame", b, PoseMode(1)),
                PathVariant("every 3rd frame", b, PoseMode(3)), PathVariant("still", b, PoseMode(1, still_threshold=2.0))]
    from har.train.motion.score import score_bundle

    report = measure(variants, one_clip, rounds=1, motion_actors=1, log=lambda _: None,
                     motion_accuracy=lambda b, k, n, noise: score_bundle(b, actors=n, landmark_every=k,
                                                                         noise=noise)["accuracy"])
    rows = {r["variant"]: r for r in report["rows"]}
    assert all(set(r) == set(ROW_FIELDS) for r in rows.values())
    every, third = rows["every frame"]["pose"], rows["every 3rd frame"]["pose"]
    assert every["sampled_frames"] == third["sampled_frames"] > 10
    assert every["landmark_share"] >= 0.9 and third["landmark_share"] <= 0.4
    assert every["real_window_accuracy_open"] is not None and 0 <= every["motion_accuracy"] <= 1
    assert rows["still"]["pose"]["motion_accuracy"] is None  # decided on pixels: no generated figure
    assert pareto(report["rows"]) and "| every 3rd frame |" in render(report)
    # the pruned graph gives the reference's landmarks exactly; skipping frames moves them, and costs less
    assert every["landmark_px_median"] == 0.0 and every["found_disagreement"] == 0.0
    assert third["landmark_px_median"] > 0 and third["steady_jitter"] is None
    assert every["steady_jitter"] == rows[REFERENCE]["pose"]["steady_jitter"] > 0
    assert every["motion_noise_scale"] == 1.0 and rows["still"]["pose"]["motion_noise_scale"] is None
    assert every["cpu_ms_per_sampled_frame"] > every["head_cpu_ms_per_window"] > 0


def test_the_default_variants_cover_threads_modes_still_skip_and_no_tracking():
    names = [v.name for v in default_variants("b", {"0.2 s x 10": "c"})]
    assert len(names) == len(set(names)) == 13
    assert "every frame, 2 threads" in names and "every frame, detector every frame" in names
    assert "0.2 s x 10, every 2nd frame" in names
    assert REFERENCE in names and not any("lite" in n for n in names)


def test_a_lite_model_adds_its_own_rows_and_the_reference_runs_the_whole_graph():
    variants = {v.name: v for v in default_variants("b", lite="lite.tflite")}
    lite = [v for v in variants.values() if v.landmarks == "lite.tflite"]
    assert sorted(v.mode.landmark_every for v in lite) == [1, 1, 2, 3]
    assert variants[REFERENCE].prune is False and variants[REFERENCE].landmarks is None
    assert variants["every frame"].prune is True
