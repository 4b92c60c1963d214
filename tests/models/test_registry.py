"""One registry entry per family carries what the rest of the code asks about it."""

from __future__ import annotations

import pytest

from har.models import get_entry, list_models
from har.models.clips import Sampling
from har.models.registry import _REGISTRY, ExportSpec, InputSpec, register_model

SEED_EPOCHS = {"convlstm": 50, "lrcn": 70, "pose_lstm": 50}


def test_each_family_has_its_input_spec_graphs_streaming_split_and_seed_epochs():
    got = {n: (get_entry(n).input_spec.encoder, get_entry(n).export.graphs, get_entry(n).export.streaming,
               get_entry(n).seed_epochs) for n in list_models()}
    assert got == {
        "convlstm": ("pixels", ("window",), (), 50),
        "lrcn": ("pixels", ("window", "encoder", "head"), ("encoder", "head"), 70),
        "pose_lstm": ("pose", ("head",), ("head",), 50),
    }
    assert list_models("pixels") == ["convlstm", "lrcn"] and list_models("pose") == ["pose_lstm"]


def test_the_sampling_defaults_come_from_the_spec():
    """``Sampling``'s own defaults are the default spec's, and a family's spec feeds a training config."""
    from har.train.config import load_config

    spec = InputSpec()
    s = Sampling()
    assert (s.seq_len, s.size, s.interval_s, s.clips_per_video) == (spec.seq_len, spec.size, spec.interval_s,
                                                                      spec.clips_per_video)
    pose = load_config(None, {"model": "pose_lstm", "encoder": "pose"})
    assert pose.sampling.clips_per_video == get_entry("pose_lstm").input_spec.clips_per_video == 12
    assert load_config(None, {"model": "lrcn"}).sampling.clips_per_video == 3
    assert {n: load_config(None, {"model": n}).max_epochs for n in list_models()} == SEED_EPOCHS


def test_a_new_family_is_one_registration(monkeypatch):
    """Registered, a family is trainable with its own defaults and listed by the bench's pixel families."""
    from har.train.config import load_config

    monkeypatch.setitem(_REGISTRY, "tiny", None)  # restored (removed) by monkeypatch after the test
    register_model("tiny", "a test family", lambda **kw: None, InputSpec(seq_len=8, size=32), seed_epochs=3,
                   export=ExportSpec(("window",), lambda *a: {}))
    cfg = load_config(None, {"model": "tiny"})
    assert (cfg.sampling.seq_len, cfg.sampling.size, cfg.max_epochs) == (8, 32, 3)
    assert "tiny" in list_models("pixels") and get_entry("tiny").exportable


@pytest.mark.parametrize("family, size", [("lrcn", 64), ("convlstm", 40), ("pose_lstm", None)])
def test_export_graphs_are_the_ones_the_entry_names(family, size):
    """The entry's builder makes exactly its graphs, at batch 1, with the trained model's weights in them."""
    from har.models import build_model

    entry = get_entry(family)
    kwargs = {"feature_dim": 6} if family == "pose_lstm" else {}
    src = build_model(family, 3, 4, size, **kwargs)
    graphs = entry.export.build(src, 3, 4, size)
    assert tuple(graphs) == entry.export.graphs
    for g in graphs.values():
        assert g.inputs[0].shape[0] == 1
