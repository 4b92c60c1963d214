"""TfliteModel and the classifiers on a real (untrained) int8 LRCN bundle.

The bundle is made once per module through the real export path (conversion
worker + assemble_bundle), so TensorFlow is needed to *make* it; everything
under test then runs on LiteRT only.
"""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from har.edge.bundle import EMBEDDING_OUTPUT, BundleError, load_bundle
from har.edge.interpreter import (
    InterpreterError,
    StreamingClassifier,
    TfliteModel,
    WindowClassifier,
    backend_name,
    load_delegate,
)
from har.edge.preprocess import normalize

SEQ, SIZE, LABELS = 6, 64, ["a", "b", "c"]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    pytest.importorskip("tensorflow")
    import keras

    from har.export.bundle import assemble_bundle
    from har.export.worker import bundle_files, convert_models, targets_for
    from har.models.folder import ModelFolder as ModelDir
    from har.models.lrcn import build_lrcn

    root = tmp_path_factory.mktemp("interp")
    keras.utils.set_random_seed(0)
    model_dir = root / "lrcn"
    model_dir.mkdir()
    build_lrcn(len(LABELS), SEQ, SIZE).save(model_dir / "model.keras")
    md = ModelDir(model_dir, "lrcn", LABELS, {"model": "lrcn", "seed": 0, "sampling": {
        "mode": "interval", "seq_len": SEQ, "size": SIZE, "interval_s": 0.2}}, {})
    clips = np.random.default_rng(0).integers(0, 256, (8, SEQ, SIZE, SIZE, 3), dtype=np.uint8)
    conv = convert_models(md, root / "work", targets_for(md, ["int8"]), calibration=clips)
    return load_bundle(assemble_bundle(md, root / "bundle", "int8", bundle_files(md, conv, "int8"), conv))


@pytest.fixture(scope="module")
def clip():
    return np.random.default_rng(1).integers(0, 256, (SEQ, SIZE, SIZE, 3), dtype=np.uint8)


def test_backend_name_names_the_runtime():
    assert backend_name().split()[0] in ("ai-edge-litert", "tflite-runtime")


def test_int8_frame_fast_path_equals_full_quantization(bundle, clip):
    enc = TfliteModel(bundle.model_file("encoder"))
    i = enc.input
    assert (i.dtype, i.zero_point) == ("int8", -128) and abs(i.scale * 255 - 1) < 1e-6
    fast = enc.prepare(clip[0])
    slow = np.clip(np.round(normalize(clip[0]) / i.scale) + i.zero_point, -128, 127).astype(np.int8)
    assert fast.dtype == np.int8 and np.array_equal(fast[0], slow)
    assert np.array_equal(enc.prepare(normalize(clip[0])), fast)  # float input in [0, 1]: same tensor


def test_any_normalization_maps_pixels_like_training(bundle, clip):
    enc = TfliteModel(bundle.model_file("encoder"), normalization="scale_-1_1")
    i = enc.input
    expected = np.clip(np.round(normalize(clip[0], "scale_-1_1") / i.scale) + i.zero_point, -128, 127)
    assert np.array_equal(enc.prepare(clip[0])[0], expected.astype(np.int8))


def test_run_takes_input_with_or_without_batch_axis(bundle, clip):
    model = TfliteModel(bundle.model_file("window"))
    out = model.run(clip)
    assert out.dtype == np.float32 and out.shape == (len(LABELS),)
    assert np.array_equal(out, model.run(clip[None]))
    assert abs(float(out.sum()) - 1) < 0.02
    with pytest.raises(ValueError, match=r"takes input of shape \[1, 6, 64, 64, 3\]"):
        model.run(clip[:3])


def test_lstm_state_is_reset_before_every_window(bundle):
    head = TfliteModel(bundle.model_file("head"))
    assert head.stateful and "UNIDIRECTIONAL_SEQUENCE_LSTM" in head.ops()
    feats = np.random.default_rng(2).random((SEQ, bundle.feature_dim)).astype(np.float32) * 4
    assert np.array_equal(head.run(feats), head.run(feats))
    # What the reset prevents: invoked twice, the fused LSTM starts from the previous window's state.
    it, (inp,) = head.interpreter, head.interpreter.get_input_details()
    out = next(d for d in it.get_output_details() if d["name"] != EMBEDDING_OUTPUT)  # the probabilities
    it.reset_all_variables()
    raw = []
    for _ in range(2):
        it.set_tensor(inp["index"], head.prepare(feats))
        it.invoke()
        raw.append(it.get_tensor(out["index"]).copy())
    assert not np.array_equal(raw[0], raw[1])


def test_window_and_streaming_classifiers_agree(bundle, clip):
    window = WindowClassifier(bundle)
    stream = StreamingClassifier(bundle)
    probs = window.classify(clip)
    feats = np.stack([stream.encode(f) for f in clip])
    assert feats.shape == (SEQ, bundle.feature_dim) and feats.dtype == np.float32
    streamed = stream.classify(feats)
    assert probs.shape == streamed.shape == (len(LABELS),)
    assert np.abs(probs - streamed).max() < 0.05


def test_ops_and_delegate_split(bundle):
    window = TfliteModel(bundle.model_file("window"), threads=2)
    assert {"CONV_2D", "UNIDIRECTIONAL_SEQUENCE_LSTM"} <= set(window.ops())
    if window.delegated:  # XNNPACK takes the CNN, never the LSTM
        left = window.undelegated_ops()
        assert "UNIDIRECTIONAL_SEQUENCE_LSTM" in left and "CONV_2D" not in left


def _has_libedgetpu() -> bool:
    try:
        ctypes.CDLL("libedgetpu.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(_has_libedgetpu(), reason="libedgetpu is installed here")
def test_missing_edgetpu_runtime_is_one_clear_error(bundle):
    with pytest.raises(InterpreterError, match="libedgetpu.so.1, which is not installed"):
        load_delegate("edgetpu")
    with pytest.raises(ValueError, match="unknown delegate 'gpu'"):
        load_delegate("gpu")
    with pytest.raises(BundleError, match="no Edge TPU-compiled encoder"):
        StreamingClassifier(bundle, delegate="edgetpu")
    from har.edge.bundle.describe import describe

    with pytest.raises(OSError, match="edgetpu delegate needs libedgetpu"):  # InterpreterError is an OSError
        describe(bundle, delegate="edgetpu")


def test_no_runtime_installed_is_one_clear_error():
    code = textwrap.dedent("""
        import importlib.abc, sys
        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name.split(".")[0] in ("ai_edge_litert", "tflite_runtime"):
                    raise ImportError(name)
        sys.meta_path.insert(0, Block())
        from har.edge.interpreter import InterpreterError, backend_name
        try:
            backend_name()
        except InterpreterError as e:
            print(e)
    """)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "no TFLite runtime is installed: pip install ai-edge-litert" in res.stdout, res.stderr


def test_describe_lists_models_ops_and_delegate(bundle):
    from har.edge.bundle.describe import describe

    text = describe(bundle, threads=1)
    assert "sha256 verified" in text and "UNIDIRECTIONAL_SEQUENCE_LSTM" in text
    assert "default CPU delegate (XNNPACK)" in text
    for name in ("model.tflite", "encoder.tflite", "head.tflite"):
        assert name in text
    meta = json.loads((bundle.path / "metadata.json").read_text())
    assert meta["models"]["head"]["quantization"] == "fp32" and meta["models"]["encoder"]["quantization"] == "int8"
