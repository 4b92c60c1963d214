import keras
import numpy as np
import pytest

from har.models import build_model, list_models
from har.models.lrcn import build_lrcn, build_lrcn_encoder, copy_weights_by_name

# Output shapes and parameter counts from the seed study's model summaries.
CONVLSTM = [
    ("conv_lstm2d_0", (20, 62, 62, 4), 1024), ("max_pooling3d_0", (20, 31, 31, 4), 0),
    ("conv_lstm2d_1", (20, 29, 29, 8), 3488), ("max_pooling3d_1", (20, 15, 15, 8), 0),
    ("conv_lstm2d_2", (20, 13, 13, 14), 11144), ("max_pooling3d_2", (20, 7, 7, 14), 0),
    ("conv_lstm2d_3", (20, 5, 5, 16), 17344), ("max_pooling3d_3", (20, 3, 3, 16), 0),
    ("flatten", (2880,), 0), ("probs", (4,), 11524),
]
LRCN = [
    ("td_conv_0", (20, 64, 64, 16), 448), ("td_pool_0", (20, 16, 16, 16), 0),
    ("td_conv_1", (20, 16, 16, 32), 4640), ("td_pool_1", (20, 4, 4, 32), 0),
    ("td_conv_2", (20, 4, 4, 64), 18496), ("td_pool_2", (20, 2, 2, 64), 0),
    ("td_conv_3", (20, 2, 2, 64), 36928), ("td_pool_3", (20, 1, 1, 64), 0),
    ("td_flatten", (20, 64), 0), ("lstm", (32,), 12416), ("probs", (4,), 132),
]


def test_registry_lists_every_model():
    assert list_models() == ["convlstm", "lrcn", "pose_lstm"]
    with pytest.raises(KeyError, match="choose one of"):
        build_model("resnet", 4)


@pytest.mark.parametrize("name,expected,total", [("convlstm", CONVLSTM, 44_524), ("lrcn", LRCN, 73_060)])
def test_param_counts_and_shapes_match_the_seed(name, expected, total):
    model = build_model(name, 4)
    assert model.count_params() == total
    layers = {layer.name: layer for layer in model.layers}
    for layer_name, shape, params in expected:
        assert tuple(layers[layer_name].output.shape[1:]) == shape, layer_name
        assert layers[layer_name].count_params() == params, layer_name


def test_lrcn_encoder_reproduces_the_training_cnn():
    rng = np.random.default_rng(0)
    train_model = build_lrcn(5)
    enc = build_lrcn_encoder()
    copy_weights_by_name(train_model, enc)
    x = rng.random((1, 20, 64, 64, 3), dtype=np.float32)
    cnn = keras.Model(train_model.input, train_model.get_layer("td_flatten").output)
    ref = cnn.predict(x, verbose=0)[0]
    np.testing.assert_allclose(enc.predict(x[0], verbose=0), ref, atol=1e-5)


def test_convlstm_export_graph_has_builtin_pooling_and_same_outputs():
    rng = np.random.default_rng(1)
    train_model = build_model("convlstm", 4)
    export = build_model("convlstm", 4, export_graph=True)
    export.set_weights(train_model.get_weights())
    assert not any("MaxPooling3D" in type(layer).__name__ for layer in export.layers)
    x = rng.random((1, 20, 64, 64, 3), dtype=np.float32)
    np.testing.assert_allclose(export.predict(x, verbose=0), train_model.predict(x, verbose=0), atol=1e-5)


def test_pose_head_reads_keypoint_features_and_stays_tiny():
    from har.models import get_entry

    assert get_entry("pose_lstm").input_spec.encoder == "pose" and get_entry("lrcn").input_spec.encoder == "pixels"
    model = build_model("pose_lstm", 5, feature_dim=104)
    assert tuple(model.input.shape[1:]) == (20, 104) and tuple(model.output.shape[1:]) == (5,)
    assert model.count_params() == 4 * 64 * (104 + 64 + 1) + 64 * 5 + 5  # LSTM(64) + softmax
    probs = model.predict(np.zeros((2, 20, 104), np.float32), verbose=0)
    np.testing.assert_allclose(probs.sum(-1), 1.0, rtol=1e-5)
    with pytest.raises(ValueError, match="feature_dim"):
        build_model("pose_lstm", 5)


def test_folded_time_distributed_is_keras_time_distributed(tmp_path):
    """The LRCN folds frames into the batch: the same weights give Keras' per-step outputs, and it saves and loads."""
    from har.models.keras_layers import FoldedTimeDistributed, load_model

    rng = np.random.default_rng(2)
    folded = build_lrcn(4)
    assert all(isinstance(layer, FoldedTimeDistributed) for layer in folded.layers if layer.name.startswith("td_"))
    stepped = build_lrcn(4, time_distributed=keras.layers.TimeDistributed)
    stepped.set_weights(folded.get_weights())
    x = rng.random((3, 20, 64, 64, 3), dtype=np.float32)
    ref = stepped.predict(x, verbose=0)
    np.testing.assert_allclose(folded.predict(x, verbose=0), ref, atol=1e-6)

    folded.save(tmp_path / "model.keras")
    np.testing.assert_allclose(load_model(tmp_path / "model.keras").predict(x, verbose=0), ref, atol=1e-6)


def test_folded_dropout_draws_a_mask_per_frame():
    """In training each frame of each clip gets its own dropout mask, as with one call per time step."""
    from har.models.keras_layers import FoldedTimeDistributed

    layer = FoldedTimeDistributed(keras.layers.Dropout(0.5))
    out = keras.ops.convert_to_numpy(layer(np.ones((2, 20, 8, 8, 4), np.float32), training=True))
    masks = (out != 0).reshape(40, -1)
    assert len({m.tobytes() for m in masks}) == 40
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(np.ones((2, 20, 3), np.float32))), 1.0)
