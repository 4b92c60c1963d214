"""The default model's fp32 head is its shipped float weights, and ``python -m har.cli.embed --quant`` remakes it."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from har.edge.bundle import load_bundle
from har.edge.interpreter import TfliteModel
from har.export.errors import ExportError
from har.train.pose_init import WEIGHTS_FILE, default_model_dir


def _windows(n: int = 8) -> np.ndarray:
    return np.random.default_rng(3).normal(0, 1, (n, 20, 104)).astype(np.float32)


def _numpy_head(weights, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras' LSTM (gates i, f, c, o; tanh, sigmoid) then the dense softmax, from ``head.weights.npz``."""
    w = {k: weights[k].astype(np.float32) for k in weights.files}
    kernel, recurrent, bias = w["lstm/0"], w["lstm/1"], w["lstm/2"]
    units = recurrent.shape[0]
    h, c = np.zeros(units, np.float32), np.zeros(units, np.float32)

    def sigmoid(v):
        return 1 / (1 + np.exp(-v))

    for xt in x:
        z = xt @ kernel + h @ recurrent + bias
        i, f, g, o = (z[k * units:(k + 1) * units] for k in range(4))
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        h = sigmoid(o) * np.tanh(c)
    logits = h @ w["probs/0"] + w["probs/1"]
    p = np.exp(logits - logits.max())
    return p / p.sum(), h


def test_the_shipped_fp32_head_computes_its_shipped_float_weights(real_pose_models):
    b = load_bundle(default_model_dir())
    assert b.quantization == "fp32" and b.models["head"].quantization == "fp32" and b.head_embeds
    head = TfliteModel(b.model_file("head"))
    with np.load(b.path / WEIGHTS_FILE) as weights:
        for x in _windows():
            probs, state = _numpy_head(weights, x)
            np.testing.assert_allclose(head.run(x), probs, atol=1e-4)
            np.testing.assert_allclose(head.embedding(), state, atol=1e-4)


@pytest.fixture
def copy(tmp_path, real_pose_models):
    return shutil.copytree(default_model_dir(), tmp_path / "default", ignore=shutil.ignore_patterns("*.py"))


def test_reconverting_the_default_head_gives_the_same_head_and_references(copy, capsys):
    pytest.importorskip("tensorflow", reason="the conversion worker needs TensorFlow (workstation only)")
    from har.cli.embed import main

    before = load_bundle(copy)
    main([str(copy), "--quant", "fp32"])
    assert "fp32, from its float weights" in capsys.readouterr().out
    after = load_bundle(copy)
    assert after.quantization == "fp32" and after.head_embeds
    assert after.metadata["embedding"] == before.metadata["embedding"]  # same training windows, same head
    old, new = TfliteModel(before.model_file("head")), TfliteModel(after.model_file("head"))
    for x in _windows():
        np.testing.assert_allclose(new.run(x), old.run(x), atol=1e-6)
    assert json.loads((copy / "report.json").read_text())["bundle_quantization"] == "fp32"


def test_int8_and_a_bundle_without_float_weights_are_refused_in_one_sentence(copy):
    from har.export.reconvert import reconvert_head

    with pytest.raises(ExportError, match="needs calibration features of the model's training split"):
        reconvert_head(copy, "int8", lambda *a: np.zeros((0, 20, 104), np.float32))
    (copy / WEIGHTS_FILE).unlink()
    with pytest.raises(ExportError, match=f"not a pose bundle with its head's float weights \\({WEIGHTS_FILE}\\)"):
        reconvert_head(copy, "fp32", lambda *a: np.zeros((0, 20, 104), np.float32))
