"""Pose modes: skipped frames filled the same way in training and on the device, the still skip, the governor."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from har.edge.pose.adapt import BLOCK, MIN_BLOCKS_BEFORE_UP, STARTUP_BLOCK, ModeGovernor, check_declared_modes
from har.edge.pose.features import FEATURE_DIM, found_frames, window_features_from_array
from har.edge.pose.modes import (
    MAX_STILL_REPEATS,
    ModalEstimator,
    PoseMode,
    fill_skipped,
    mark_skipped,
    mark_windows,
    skipped_frames,
    skipped_row,
)


def linear_track(n: int = 12) -> np.ndarray:
    """A body whose every coordinate moves linearly: interpolation must give it back exactly."""
    rng = np.random.default_rng(0)
    start, speed = rng.uniform(0.3, 0.6, (33, 5)), rng.uniform(-0.01, 0.01, (33, 5))
    track = start + speed * np.arange(n)[:, None, None]
    track[:, :, 3:] = 0.9
    return track.astype(np.float32)


def test_interior_skips_of_a_linear_motion_are_filled_back_exactly():
    track = linear_track()
    marked = mark_skipped(track, 3, phase=0)  # computed: 0, 3, 6, 9; 10 and 11 come after the last
    assert skipped_frames(marked).tolist() == [i % 3 != 0 for i in range(12)]
    filled = fill_skipped(marked)
    np.testing.assert_allclose(filled[:10], track[:10], atol=1e-6)
    np.testing.assert_array_equal(filled[10], track[9])  # the newest frames hold the last computed one
    np.testing.assert_array_equal(filled[11], track[9])


def test_skips_before_the_first_computed_frame_copy_it_and_skips_next_to_a_lost_person_stay_missing():
    track = linear_track(7)
    track[3] = np.nan  # computed, nobody found
    marked = mark_skipped(track, 2, phase=1)  # computed: 1, 3, 5
    filled = fill_skipped(marked)
    np.testing.assert_array_equal(filled[0], track[1])
    assert np.isnan(filled[2:5]).all()  # the lost frame and the skipped ones beside it stay empty
    assert found_frames(filled).tolist() == [True, True, False, False, False, True, True]
    assert not skipped_frames(filled).any()


def test_a_window_without_markers_is_untouched_and_its_features_do_not_change():
    track = linear_track()
    track[5] = np.nan
    np.testing.assert_array_equal(fill_skipped(track), track)
    a = window_features_from_array(track)
    assert a.shape == (12, FEATURE_DIM)


def test_features_fill_the_skipped_frames_and_count_them_as_found():
    track = linear_track()
    full = window_features_from_array(track)
    skipped = window_features_from_array(mark_skipped(track, 2))
    np.testing.assert_allclose(skipped[:11], full[:11], atol=1e-5)
    assert skipped[:, -1].tolist() == [1.0] * 12


def test_training_marks_every_window_for_one_of_the_declared_modes_at_every_phase():
    windows = np.stack([linear_track(20)] * 300)
    assert mark_windows(windows, (1,), 0) is windows
    marked = mark_windows(windows, (1, 2, 3), seed=5)
    shares = sorted({round(float(skipped_frames(w).mean()), 2) for w in marked})
    assert shares[0] == 0.0 and max(shares) >= 0.65  # every frame, about a half, about two thirds skipped
    firsts = {int(np.flatnonzero(~skipped_frames(w))[0]) for w in marked}
    assert firsts == {0, 1, 2}  # all phases of k = 3
    np.testing.assert_array_equal(mark_windows(windows, (1, 2, 3), seed=5), marked)  # reproducible


def test_modes_are_checked():
    with pytest.raises(ValueError, match="landmark_every"):
        PoseMode(landmark_every=0)
    assert check_declared_modes({}) is None
    assert check_declared_modes({"landmark_every": [1, 2], "default_landmark_every": 2}) is None
    assert "default_landmark_every" in check_declared_modes({"landmark_every": [1, 2], "default_landmark_every": 3})
    assert "list of integers" in check_declared_modes({"landmark_every": "2"})
    assert "list of integers" in check_declared_modes({"landmark_every": [True]})


def test_the_marker_is_no_estimator_output():
    row = skipped_row()
    assert row.shape == (33, 5) and np.isposinf(row[:, 4]).all() and np.isnan(row[:, :4]).all()


# --- the governor ---------------------------------------------------------------------------------------


def run(gov: ModeGovernor, cost_of) -> list:
    """Feed sampled frames whose cost depends on the current mode; returns the switches."""
    switches = []
    for _ in range(STARTUP_BLOCK + BLOCK * (MIN_BLOCKS_BEFORE_UP + 3)):
        if (m := gov.observe(cost_of(gov.mode))) is not None:
            switches.append(m.landmark_every)
    return switches


def test_a_slow_device_steps_down_once_and_logs_it_once(caplog):
    gov = ModeGovernor([PoseMode(2), PoseMode(3)], interval_s=0.1)
    with caplog.at_level(logging.WARNING, logger="har.edge.pose.adapt"):
        switches = run(gov, lambda m: 0.15 / m.landmark_every)  # 75 ms at k=2 > 60 ms budget, 50 ms at k=3
    assert switches == [3]
    assert len([r for r in caplog.records if "switching" in r.getMessage()]) == 1
    assert gov.metrics()["pose_landmark_every"] == 3 and gov.metrics()["pose_mode_switches"] == 1


def test_a_device_that_frees_up_steps_back_and_the_interval_never_changes(caplog):
    load = {"busy": True}
    gov = ModeGovernor([PoseMode(2), PoseMode(3)], interval_s=0.1)
    run(gov, lambda m: (0.15 if load["busy"] else 0.03) / m.landmark_every)
    assert gov.mode.landmark_every == 3
    load["busy"] = False
    assert run(gov, lambda m: (0.15 if load["busy"] else 0.03) / m.landmark_every) == [2]
    assert gov.interval_s == 0.1


def test_when_even_the_cheapest_mode_is_too_slow_it_says_so_once(caplog):
    gov = ModeGovernor([PoseMode(2), PoseMode(3)], interval_s=0.1)
    with caplog.at_level(logging.WARNING, logger="har.edge.pose.adapt"):
        run(gov, lambda m: 1.0)
    assert gov.mode.landmark_every == 3
    assert len([r for r in caplog.records if "cheapest" in r.getMessage()]) == 1


def test_a_fast_device_stays_in_the_preferred_mode():
    gov = ModeGovernor([PoseMode(2), PoseMode(3)], interval_s=0.1)
    assert run(gov, lambda m: 0.01) == [] and gov.switches == 0


# --- on real frames -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def walk_frames(realclips):
    from har.edge.preprocess import rgb_frame
    from har.edge.sources import FileSource

    path = realclips / "actions" / "walk" / "weizmann_ido_walk.avi"
    return [rgb_frame(f) for _, f in FileSource(path)][:24:2]


def test_every_second_frame_runs_the_landmark_model_on_half_the_frames(walk_frames, real_pose_models):
    from har.edge.pose.estimator import PoseEstimator

    modal = ModalEstimator(PoseEstimator(real_pose_models), PoseMode(2))
    rows = np.stack([modal.step(f) for f in walk_frames])
    assert skipped_frames(rows).tolist() == [i % 2 == 1 for i in range(len(walk_frames))]
    assert modal.estimator.landmark_runs == len(walk_frames) // 2
    assert found_frames(fill_skipped(rows)).all()


def test_a_still_picture_reuses_the_landmarks_but_not_for_ever(walk_frames, real_pose_models):
    from har.edge.pose.estimator import PoseEstimator

    modal = ModalEstimator(PoseEstimator(real_pose_models), PoseMode(1, still_threshold=2.0))
    frame = walk_frames[0]
    rows = [modal.step(frame) for _ in range(2 * (MAX_STILL_REPEATS + 1))]
    assert modal.still == 2 * MAX_STILL_REPEATS
    assert modal.estimator.landmark_runs == 2
    np.testing.assert_array_equal(rows[1], rows[0])
    moving = ModalEstimator(PoseEstimator(real_pose_models), PoseMode(1, still_threshold=2.0))
    for f in walk_frames:
        moving.step(f)
    assert moving.still == 0  # a walking person changes the region every sampled frame


def test_a_live_pose_classifier_steps_down_and_reports_it_in_the_metrics(walk_frames):
    from har.edge.default_model import load_default_bundle
    from har.edge.interpreter import PoseClassifier
    from har.edge.metrics import Metrics

    bundle = load_default_bundle()
    clf = PoseClassifier(bundle)
    assert len(clf.modes) >= 2, "the default bundle declares landmark_every [1, 2, 3]: it can step down"
    metrics = Metrics()
    clf.attach(live=True, metrics=metrics)
    clf.governor.budget_s = 1e-9  # no device is this fast
    for f in walk_frames[:STARTUP_BLOCK]:
        clf.encode(f)
    snap = metrics.snapshot()
    assert snap["pose_landmark_every"] == clf.modes[1].landmark_every == clf.modal.mode.landmark_every
    assert snap["pose_mode_switches"] == 1
    clf.attach(live=False, metrics=Metrics())
    assert clf.governor is None  # a file is never adapted: its events do not depend on the machine


def test_a_realtime_file_reports_the_pose_mode_in_the_metrics_and_a_plain_file_does_not(realclips):
    from har.edge.config import load_config
    from har.edge.default_model import load_default_bundle
    from har.edge.pipeline import Pipeline
    from har.edge.sinks.base import Sink
    from har.edge.sources import FileSource

    class Keep(Sink):
        def __init__(self):
            self.events = []

        def publish(self, event):
            self.events.append(event)

        def stop(self):
            pass

    clip = realclips / "actions" / "wave_one_hand" / "weizmann_lena_wave1.avi"
    bundle = load_default_bundle()
    for realtime in (True, False):
        summary = Pipeline(load_config(None, {}), bundle, Keep()).run(FileSource(clip, realtime=realtime))
        assert ("pose_landmark_every" in summary.metrics) is realtime
        if realtime:
            assert summary.metrics["pose_landmark_every"] in bundle.metadata["pose"].get("landmark_every", [1])
            assert summary.metrics["pose_budget_ms"] == pytest.approx(600 * bundle.interval_s)


def test_doctor_lists_the_declared_modes_and_what_this_device_sustains(real_pose_models):
    from typer.testing import CliRunner

    from har.edge.cli import app

    res = CliRunner().invoke(app, ["doctor"])
    line = next(x for x in res.output.splitlines() if "pose modes" in x)
    assert line.startswith("[ ok ]") and "(default)" in line and "ms per run at 1 thread(s)" in line
    assert "ms per sampled frame" in line and "0.1 s sampling" in line
