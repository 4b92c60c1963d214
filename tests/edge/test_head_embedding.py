"""The window embedding as the head's second output: what the loader accepts and refuses, and older bundles.

The bundles are the tiny colour bundles of tests/edge/enroll_bundle.py,
whose head's penultimate layer is known: the mean of the window's features.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bundle import EMBEDDING_OUTPUT, BundleError, load_bundle, model_entry, write_metadata
from har.edge.cli import app
from har.edge.interpreter import TfliteModel, model_tensors
from tests.edge.enroll_bundle import FEATURES, SEQ
from tests.edge.test_enroll import _enrol_blue, _events, clip


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    from tests.edge.enroll_bundle import build_enroll_bundle, build_old_enroll_bundle
    from tests.edge.prebuilt import cached

    return {"new": cached("enroll_bundle", build_enroll_bundle, tmp_path_factory),
            "old": cached("enroll_bundle_old", build_old_enroll_bundle, tmp_path_factory)}


def _copy(src: Path, dst: Path) -> Path:
    return Path(shutil.copytree(src, dst))


def _windows(n: int = 12) -> np.ndarray:
    return np.random.default_rng(0).uniform(-0.5, 0.5, (n, SEQ, FEATURES)).astype(np.float32)


def test_one_head_run_gives_probabilities_and_the_penultimate_layer(built):
    b = load_bundle(built["new"])
    assert b.head_embeds and "embed" not in b.models and b.embedding_dim == FEATURES
    assert not (b.path / "embed.tflite").exists()
    head, old_head = TfliteModel(b.model_file("head")), TfliteModel(load_bundle(built["old"]).model_file("head"))
    old_embed = TfliteModel(load_bundle(built["old"]).model_file("embed"))
    for x in _windows():
        probs = head.run(x)
        np.testing.assert_allclose(head.embedding(), x.mean(0), atol=1e-6)  # the head's penultimate layer
        np.testing.assert_allclose(head.embedding(), old_embed.run(x), atol=1e-6)  # what embed.tflite gave
        assert np.array_equal(probs, old_head.run(x))  # the probabilities did not change
    assert old_head.embedding_output is None
    with pytest.raises(ValueError, match="no 'embedding' output"):
        old_head.embedding()


def test_upgrading_an_older_bundle_keeps_its_probabilities_bit_for_bit(built, tmp_path):
    from har.export.embed import add_embedding

    path = _copy(built["old"], tmp_path / "b")
    old_head, old_embed = TfliteModel(path / "head.tflite"), TfliteModel(path / "embed.tflite")
    xs = _windows()
    before = [(old_head.run(x), old_embed.run(x)) for x in xs]
    add_embedding(path)
    b = load_bundle(path)
    assert b.head_embeds and "embed" not in b.models and not (path / "embed.tflite").exists()
    head = TfliteModel(b.model_file("head"))
    for x, (probs, emb) in zip(xs, before, strict=True):
        assert np.array_equal(head.run(x), probs)
        np.testing.assert_allclose(head.embedding(), emb, atol=1e-6)
    add_embedding(path)  # once more: nothing to add, still loads
    assert load_bundle(path).models["head"].sha256 == b.models["head"].sha256


def test_an_older_bundle_with_embed_tflite_still_enrols_and_runs(built, tmp_path):
    path = _copy(built["old"], tmp_path / "bundle")
    assert not load_bundle(path).head_embeds and load_bundle(path).embedding_dim == FEATURES
    _enrol_blue(path, tmp_path)
    video = clip(tmp_path / "s.avi", [("red", 3.0), ("blue", 3.0), ("idle", 3.0)])
    jsonl = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["run", "--bundle", str(path), "--source", str(video), "--background", "idle",
                                   "--jsonl", str(jsonl)])
    assert res.exit_code == 0, res.output
    assert ("action_started", "blue") in _events(jsonl)


def _rewrite_head(path: Path, data: bytes, embedding_entry: bool | dict = True) -> None:
    """Put ``data`` in as head.tflite and describe it in metadata.json (the real tensors, or ``embedding_entry``)."""
    head = path / "head.tflite"
    head.write_bytes(data)
    (inp,), outs = model_tensors(head)
    meta = json.loads((path / "metadata.json").read_text())
    emb = outs[1] if len(outs) > 1 and embedding_entry is True else None
    meta["models"]["head"] = model_entry(head, inp, outs[0], ["MEAN", "FULLY_CONNECTED"], "fp32", embedding=emb)
    if isinstance(embedding_entry, dict):
        meta["models"]["head"]["embedding"] = embedding_entry
    (path / "metadata.json").write_text(json.dumps(meta))


def _two_output_head(embedding_shape: tuple[int, ...], name: str = EMBEDDING_OUTPUT) -> bytes:
    """The colour head with a second output of ``embedding_shape`` (the window mean reshaped), named ``name``."""
    import keras
    import tensorflow as tf
    from tensorflow.lite.tools import flatbuffer_utils

    feats = keras.Input((SEQ, FEATURES), batch_size=1)
    mean = keras.layers.GlobalAveragePooling1D()(feats)
    dense = keras.layers.Dense(3, activation="softmax")
    model = keras.Model(feats, [dense(mean), keras.layers.Reshape(embedding_shape[1:])(mean)])
    m = flatbuffer_utils.convert_bytearray_to_object(bytearray(tf.lite.TFLiteConverter.from_keras_model(model).convert()))
    sg = m.subgraphs[0]
    second = next(int(i) for i in sg.outputs if tuple(sg.tensors[int(i)].shape) == embedding_shape)
    sg.tensors[second].name = name.encode()
    return bytes(flatbuffer_utils.convert_object_to_bytearray(m))


def _refused(path: Path, match: str) -> str:
    with pytest.raises(BundleError, match=match) as e:
        load_bundle(path)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_an_embedding_output_of_the_wrong_shape_is_refused_in_one_sentence(built, tmp_path):
    path = _copy(built["new"], tmp_path / "b")
    _rewrite_head(path, _two_output_head((1, 1, FEATURES)))
    _refused(path, r"model 'head' gives an embedding of shape \[1, 1, 3\], but it must be one vector \[1, D\]")

    # The metadata claims a vector, the file's second output is not one: the real tensors decide.
    meta = json.loads((path / "metadata.json").read_text())
    meta["models"]["head"]["embedding"]["shape"] = [1, FEATURES]
    (path / "metadata.json").write_text(json.dumps(meta))
    _refused(path, r"'embedding' output is float32\[1, 1, 3\] but metadata.json says float32\[1, 3\]")


def test_outputs_that_do_not_match_the_metadata_are_refused_in_one_sentence(built, tmp_path):
    old_head = (built["old"] / "head.tflite").read_bytes()
    emb = {"shape": [1, FEATURES], "dtype": "float32", "scale": 0.0, "zero_point": 0}

    single = _copy(built["new"], tmp_path / "single")  # metadata lists an embedding, the head has one output
    _rewrite_head(single, old_head, emb)
    _refused(single, "has 1 inputs and 1 outputs, not the one input and two outputs")

    unnamed = _copy(built["new"], tmp_path / "unnamed")  # two outputs, none of them named 'embedding'
    _rewrite_head(unnamed, _two_output_head((1, FEATURES), name="other"), False)
    _refused(unnamed, "has 1 inputs and 2 outputs, not the one of each")

    listed = _copy(built["new"], tmp_path / "listed")  # the metadata lists an embedding, the file names none
    _rewrite_head(listed, _two_output_head((1, FEATURES), name="other"), True)
    _refused(listed, "has two outputs but none named 'embedding'")

    both = _copy(built["new"], tmp_path / "both")  # the head's output and embed.tflite: one too many
    shutil.copyfile(built["old"] / "embed.tflite", both / "embed.tflite")
    meta = json.loads((both / "metadata.json").read_text())
    meta["models"]["embed"] = json.loads((built["old"] / "metadata.json").read_text())["models"]["embed"]
    with pytest.raises(BundleError, match="the head has an embedding output and embed.tflite is listed too"):
        write_metadata(both, meta)


def test_the_enrolment_bench_times_both_kinds_of_bundle_in_one_run(built):
    from har.edge.enroll.bench import enroll_lines, enroll_timings

    rows = enroll_timings([built["new"], built["old"]], rounds=2, per_round=3)
    assert [r["embedding_from"] for r in rows] == ["head output", "embed.tflite"]
    for r in rows:
        assert {"head_ms", "head_embed_ms", "head_embed_match_ms", "match_ms", "fit_ms"} <= set(r)
        assert all(r[k]["p50"] > 0 for k in ("head_ms", "head_embed_ms", "head_embed_match_ms"))
    lines = enroll_lines(rows + [None])
    assert len(lines) == 4 and "| head output (3) |" in lines[2] and "| embed.tflite (3) |" in lines[3]
