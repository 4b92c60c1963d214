"""The bench's reference runner drives a real stream model (MoViNet's convention), states fed back."""

from __future__ import annotations

import numpy as np
import pytest

from har.edge.bench.reference import ReferenceError, StreamReference


def _stream_model(tmp_path, int8: bool):
    """A real TFLite stream model: one frame and a state in; scores and the next state (state + frame mean) out."""
    import tensorflow as tf

    class Stream(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 1, 8, 8, 3], tf.float32, name="image"),
                                      tf.TensorSpec([1, 4], tf.float32, name="state")])
        def call(self, image, state):
            nxt = state + tf.reduce_mean(image)
            return {"logits": tf.concat([nxt, -nxt], axis=-1), "state": nxt}

    module = Stream()
    saved = tmp_path / "saved"
    tf.saved_model.save(module, str(saved), signatures={"serving_default": module.call})
    conv = tf.lite.TFLiteConverter.from_saved_model(str(saved))
    if int8:
        rng = np.random.default_rng(0)
        conv.optimizations = [tf.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ({"image": np.full((1, 1, 8, 8, 3), i / 7, np.float32),
                                                "state": rng.random((1, 4), np.float32) * 8} for i in range(8))
        conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        conv.inference_input_type = conv.inference_output_type = tf.int8
    path = tmp_path / ("stream_int8.tflite" if int8 else "stream.tflite")
    path.write_bytes(conv.convert())
    return path


@pytest.mark.parametrize("int8", [False, True])
def test_states_are_fed_back_frame_after_frame(tmp_path, int8):
    ref = StreamReference(_stream_model(tmp_path, int8))
    assert ref.image == "image" and ref.size == (8, 8)
    white = np.full((48, 64, 3), 255, np.uint8)  # any frame size: resized to the model's input
    for _ in range(3):
        ref.step(white)
    (state,) = ref._states.values()
    scale, zero = (1.0, 0) if not int8 else ref._run.get_input_details()["state"]["quantization"]
    assert np.allclose((state.astype(np.float32) - zero) * scale, 3.0, atol=0.15)  # three frames of mean 1.0
    ref.reset()
    assert np.all(next(iter(ref._states.values())) == zero)  # float zero


def test_a_whole_window_model_is_refused_in_one_sentence(tmp_path):
    from tests.edge.tiny_models import _convert, _model

    path = tmp_path / "window.tflite"
    path.write_bytes(_convert(_model((20, 8, 8, 3), 3, True)))
    with pytest.raises(ReferenceError, match="takes one RGB frame a call"):
        StreamReference(path)


def test_the_pose_path_bench_times_a_reference_on_the_same_frames(tmp_path, realclips, real_pose_models):
    import shutil

    from har.edge.default_model import default_bundle_path
    from har.edge.pose.modes import PoseMode
    from har.edge.pose.path_bench import PathVariant, measure, pareto, render

    root = tmp_path / "clips"
    (root / "walk").mkdir(parents=True)
    shutil.copy(realclips / "actions" / "walk" / "weizmann_ido_walk.avi", root / "walk")
    variant = PathVariant("every frame", str(default_bundle_path()), PoseMode(1))
    report = measure([variant], root, rounds=1, log=lambda _: None,
                     references={"stream": _stream_model(tmp_path, True)})
    rows = {r["variant"]: r for r in report["rows"]}
    ref = rows["stream (reference, timing only)"]
    assert ref["pose"]["cpu_ms_per_sampled_frame"] > 0 and ref["test_accuracy"] is None
    assert pareto(report["rows"]) == {"every frame"}  # a reference has no accuracy to be on the front with
    assert "| stream (reference, timing only) | every sampled frame |" in render(report)
