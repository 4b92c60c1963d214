"""The landmark graph pruned of the outputs the pose path never reads: the same numbers, fewer ops.

Real BlazePose models on real frames (the Weizmann walk clip): pruning is
only worth having if the landmarks, pose flag and heatmap stay bit-identical.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from har.edge.pose.estimator import PoseEstimator
from har.edge.pose.landmarks import USED_OUTPUTS, PoseLandmarker
from har.edge.pose.prune import prune_outputs


@pytest.fixture(scope="module")
def walk_frames(realclips):
    from har.edge.pose.path_bench import sampled_clips

    root = realclips / "actions"
    clips = sampled_clips(root, 0.1)
    walk = [frames for path, frames in clips.items() if path.parent.name == "walk"]
    assert walk and len(walk[0]) > 10
    return walk[0]


def _ops(content_or_path) -> int:
    from ai_edge_litert.tools import flatbuffer_utils

    if isinstance(content_or_path, bytes):
        model = flatbuffer_utils.read_model_from_bytearray(bytearray(content_or_path))
    else:
        model = flatbuffer_utils.read_model(str(content_or_path))
    return len(model.subgraphs[0].operators)


def test_the_pruned_graph_keeps_only_the_used_outputs_and_fewer_ops(real_pose_models):
    content = prune_outputs(real_pose_models.landmarks, USED_OUTPUTS)
    assert content is not None
    assert _ops(content) < 0.9 * _ops(real_pose_models.landmarks)
    lm = PoseLandmarker(real_pose_models.landmarks)
    assert lm.pruned
    shapes = sorted(tuple(int(v) for v in d["shape"]) for d in lm.interpreter.get_output_details())
    assert shapes == sorted(USED_OUTPUTS)
    whole = PoseLandmarker(real_pose_models.landmarks, prune=False)
    assert not whole.pruned and len(whole.interpreter.get_output_details()) == 5


def test_pruned_and_whole_graphs_give_identical_landmarks_on_real_frames(real_pose_models, walk_frames):
    pruned, whole = PoseEstimator(real_pose_models), PoseEstimator(real_pose_models, prune=False)
    found = 0
    for frame in walk_frames:
        a, b = pruned.process(frame), whole.process(frame)
        assert (a is None) == (b is None)
        if a is not None:
            found += 1
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            assert a.score == b.score and a.roi == b.roi
    assert found >= 0.8 * len(walk_frames)


def test_without_the_flatbuffer_tools_the_whole_graph_runs(real_pose_models, monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert.tools", None)  # as on a tflite-runtime board
    assert prune_outputs(real_pose_models.landmarks, USED_OUTPUTS) is None
    lm = PoseLandmarker(real_pose_models.landmarks)
    assert not lm.pruned and len(lm.interpreter.get_output_details()) == 5


def test_what_cannot_be_pruned_is_left_to_the_interpreter(real_pose_models, tmp_path):
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model at all")
    assert prune_outputs(junk, USED_OUTPUTS) is None
    # the detector has none of the landmark model's outputs: nothing to keep, so no pruned graph
    assert prune_outputs(real_pose_models.detector, USED_OUTPUTS) is None
