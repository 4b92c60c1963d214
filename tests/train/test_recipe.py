"""The training recipe of configs/synth.toml: what each model gets, and the learning-rate step-down."""

from pathlib import Path

import pytest

from har.train.config import TrainConfig, load_config
from har.train.fit import early_stopping

SYNTH = Path(__file__).resolve().parents[2] / "configs" / "synth.toml"


def test_the_convlstm_recipe_differs_from_the_lrcn_only_where_documented():
    conv = load_config(SYNTH, {"model": "convlstm"})
    lrcn = load_config(SYNTH, {"model": "lrcn"})
    assert (conv.batch_size, conv.learning_rate, conv.reduce_lr_patience, conv.epochs, conv.patience) == (
        8, 0.002, 3, 40, 8)
    assert (lrcn.batch_size, lrcn.learning_rate, lrcn.reduce_lr_patience, lrcn.epochs, lrcn.patience) == (
        4, 0.001, None, None, 6)
    assert lrcn.max_epochs == 70  # the seed's cap; early stopping ends it (docs/training.md)
    assert conv.normalization == lrcn.normalization == "scale_-1_1" and conv.sampling == lrcn.sampling


def test_reduce_lr_patience_adds_a_plateau_step_down_on_the_monitored_loss():
    import keras

    plain = early_stopping(TrainConfig(), has_val=True)
    assert [type(c) for c in plain] == [keras.callbacks.EarlyStopping]
    stop, step = early_stopping(TrainConfig(learning_rate=2e-3, reduce_lr_patience=3), has_val=False)
    assert isinstance(step, keras.callbacks.ReduceLROnPlateau)
    assert (step.monitor, step.patience, step.factor) == (stop.monitor, 3, 0.5) == ("loss", 3, 0.5)
    assert step.min_lr == pytest.approx(2e-3 / 32)


@pytest.mark.parametrize("bad", [0, -2])
def test_a_reduce_lr_patience_below_one_is_refused(bad):
    with pytest.raises(ValueError, match="reduce_lr_patience is a number of epochs"):
        TrainConfig(reduce_lr_patience=bad)
