"""The arm64 proof's event comparison (deploy/arm64/decide.py): where two runs part, and whether that was borderline.

Probabilities are made up, the smoother is the real one, so each case knows
exactly which window decides and by how much.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "deploy" / "arm64"))
from decide import deciding_window  # noqa: E402

LABELS = ["idle", "walk", "side_gallop"]
CFG = {"labels": LABELS, "enter_threshold": 0.6, "exit_threshold": 0.4, "average_windows": 1,
       "min_duration_s": 0.0, "background_labels": ["idle"]}


def run(rows: list[list[float]]) -> dict:
    p = np.array(rows, np.float64)
    return {"windows_ts": np.arange(len(p)) * 0.2, "probs": p, "averaged": p}


X86 = run([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.1, 0.3, 0.598], [0.1, 0.3, 0.598]])
ARM = run([[0.9, 0.05, 0.05], [0.9, 0.05, 0.05], [0.1, 0.28, 0.618], [0.1, 0.3, 0.598]])


def test_the_first_window_where_the_smoothers_part_decides_and_its_enter_check_is_reported():
    d = deciding_window(X86, ARM, CFG, noise=0.05)
    assert d["window"] == 2 and d["ts"] == pytest.approx(0.4)
    assert d["state_x86"]["active"] is None and d["state_arm64"]["active"] == "side_gallop"
    enter = d["differing_checks"]["enter"]
    assert (enter["x86"], enter["arm64"]) == (False, True)
    assert enter["margin_x86"] == pytest.approx(-0.002) and enter["margin_arm64"] == pytest.approx(0.018)
    assert d["max_abs_diff_averaged"] == pytest.approx(0.02)
    assert d["borderline"]


def test_a_margin_beyond_the_yardstick_is_not_borderline():
    assert not deciding_window(X86, ARM, CFG, noise=0.01)["borderline"]  # arm64's margin 0.018 > 0.01


def test_without_a_yardstick_nothing_is_called_borderline():
    assert not deciding_window(X86, ARM, CFG, noise=None)["borderline"]


def test_runs_whose_smoothers_never_part_have_no_deciding_window():
    assert deciding_window(X86, run(X86["probs"] + 1e-4), CFG, noise=0.05) is None


def test_a_different_top_label_is_judged_against_twice_the_yardstick():
    x = run([[0.1, 0.62, 0.28]])
    a = run([[0.1, 0.28, 0.62]])
    d = deciding_window(x, a, CFG, noise=0.2)
    top = d["differing_checks"]["top"]
    assert (top["x86"], top["arm64"]) == ("walk", "side_gallop") and top["bound"] == pytest.approx(0.4)
    assert top["margin_x86"] == pytest.approx(0.34) and top["borderline"]
