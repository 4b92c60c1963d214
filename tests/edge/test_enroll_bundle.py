"""The loader's checks on the embedding model, and enrolment refused for a bundle without one."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from har.edge.bundle import BundleError, load_bundle, model_entry
from har.edge.cli import app
from har.edge.interpreter import model_tensors
from tests.edge.tiny_models import write_tiny_bundle


def _with_embed(path, tiny, which: str):
    write_tiny_bundle(path, tiny)
    shutil.copyfile(tiny[which], path / "embed.tflite")
    (inp,), (out,) = model_tensors(path / "embed.tflite")
    meta = json.loads((path / "metadata.json").read_text())
    meta["models"]["embed"] = model_entry(path / "embed.tflite", inp, out, ["MEAN", "FULLY_CONNECTED"], "fp32")
    (path / "metadata.json").write_text(json.dumps(meta))
    return path


def test_an_embedding_that_reads_the_heads_input_is_accepted(tiny_models, tmp_path):
    b = load_bundle(_with_embed(tmp_path / "b", tiny_models, "head"))
    assert b.embedding_dim == 3 and b.models["embed"].input == b.models["head"].input


def test_an_embedding_that_reads_something_else_is_refused(tiny_models, tmp_path):
    with pytest.raises(BundleError, match="model 'embed' takes .* must read the head's input"):
        load_bundle(_with_embed(tmp_path / "b", tiny_models, "pose_head"))


def test_a_bundle_without_embedding_cannot_enrol_but_still_runs(tiny_models, tmp_path):
    path = tmp_path / "b"
    write_tiny_bundle(path, tiny_models)
    res = CliRunner().invoke(app, ["enroll", "--bundle", str(path), "--label", "x", "--folder", str(tmp_path)])
    assert res.exit_code == 2 and "has no embedding output" in res.output
    info = CliRunner().invoke(app, ["info", str(path)])
    assert info.exit_code == 0 and "cannot learn labels" in info.output
