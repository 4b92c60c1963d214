"""``TrainConfig`` through the shared typed record reader: every shipped config loads, every mistake is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from har.edge.errors import HarError
from har.edge.records import ConfigError
from har.train.config import TrainConfig, load_config

CONFIGS = sorted(p for p in (Path(__file__).resolve().parents[2] / "configs").glob("*.toml")
                 if p.name not in ("edge.example.toml", "demo.toml"))  # those two are device configs


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_training_config_loads_for_each_of_its_models(path):
    for model in ("lrcn", "convlstm", None):
        cfg = load_config(path, {"model": model})
        assert TrainConfig.from_dict(cfg.to_dict()) == cfg  # config.json reads back as it was written


def test_flags_override_the_file_and_per_model_tables(tmp_path):
    f = tmp_path / "c.toml"
    f.write_text('[train]\nepochs = 9\n[train.sampling]\nseq_len = 12\n[train.lrcn]\nepochs = 4\n')
    assert load_config(f, {"model": "convlstm"}).max_epochs == 9
    assert load_config(f, {"model": "lrcn"}).max_epochs == 4
    cfg = load_config(f, {"model": "lrcn", "epochs": 2, "seq_len": 6, "mode": "uniform", "size": None})
    assert (cfg.max_epochs, cfg.sampling.seq_len, cfg.sampling.mode, cfg.sampling.size) == (2, 6, "uniform", 64)


@pytest.mark.parametrize("text, message", [
    ("[train]\nbatchsize = 4\n", "unknown option batchsize"),
    ("[train]\nbatch_size = 'four'\n", "batch_size must be int"),
    ("[train]\nbatch_size = 0\n", "batch_size and shuffle_buffer must be at least 1"),
    ("[train]\nlearning_rate = 3.0\n", "learning_rate must lie between 0 and 1"),
    ("[train]\nval_fraction = 0.5\ntest_fraction = 0.5\n", "must leave some to train on"),
    ("[train]\nnormalization = 'scale_0_255'\n", "normalization must be one of"),
    ("[train]\nmodel = 'resnet'\n", "unknown model 'resnet'"),
    ("[train]\nprotocol = 'kfold:1'\n", "kfold needs one number of folds >= 2"),
    ("[train.sampling]\nmode = 'random'\n", "sampling mode must be 'interval' or 'uniform'"),
    ("[train.sampling]\nframes = 20\n", "unknown option sampling.frames"),
    ("[train]\nepochs = 0\n", "epochs must be at least 1"),
])
def test_a_wrong_key_type_or_bound_is_one_config_error(tmp_path, text, message):
    f = tmp_path / "c.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message) as e:
        load_config(f, {})
    assert isinstance(e.value, HarError) and "\n" not in str(e.value)


def test_a_missing_or_broken_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "none.toml", {})
    (tmp_path / "bad.toml").write_text("[train\n")
    with pytest.raises(ConfigError, match="is not valid toml"):
        load_config(tmp_path / "bad.toml", {})
