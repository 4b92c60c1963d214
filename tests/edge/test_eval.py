"""`har-edge eval`: a bundle's accuracy on labelled real clips, and the class-name table it relies on."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from har.edge.cli import app
from har.edge.vocabulary import map_class
from tests.helpers import need

ACTIONS = Path(__file__).resolve().parents[2].parent / "shared" / "realclips" / "actions"
LABELS = ["box", "clap", "idle", "jump_in_place", "walk", "wave_two_hands"]


def test_dataset_class_names_map_onto_the_vocabulary():
    assert map_class("handwaving", LABELS) == "wave_two_hands"  # KTH
    assert map_class("pjump", LABELS) == "jump_in_place"  # Weizmann
    assert map_class("Boxing", LABELS) == "box"
    assert map_class("jumping-jack", LABELS + ["jumping_jack"]) == "jumping_jack"
    assert map_class("walk", LABELS) == "walk"
    assert map_class("ApplyEyeMakeup", LABELS) is None
    assert map_class("stretching", LABELS, {"stretching": "idle"}) == "idle"


def test_idle_is_no_action_by_default_for_the_shipped_model(real_pose_models):
    from har.edge.default_model import load_default_bundle

    b = load_default_bundle()
    assert b.background_labels == ["idle"]


def _folder(tmp_path: Path) -> Path:
    need(ACTIONS.is_dir(), f"no labelled real clips at {ACTIONS}")
    root = tmp_path / "weizmann"
    for cls, src in (("jack", "jumping_jack"), ("walk", "walk"), ("wave1", "wave_one_hand")):
        (root / cls).mkdir(parents=True)
        for clip in sorted((ACTIONS / src).glob("*.avi")):
            (root / cls / clip.name).symlink_to(clip)
    (root / "drinking").mkdir()
    (root / "drinking" / "x.avi").symlink_to(sorted((ACTIONS / "wave_two_hands").glob("*.avi"))[0])
    return root


def test_eval_scores_the_default_model_on_real_people(tmp_path, real_pose_models):
    root = _folder(tmp_path)
    res = CliRunner().invoke(app, ["eval", str(root), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    r = json.loads((tmp_path / "r.json").read_text())
    assert r["classes"] == ["jumping_jack", "walk", "wave_one_hand"] and r["clips"] == 4
    assert r["unmapped_classes"] == ["drinking"] and r["per_class"]["drinking"]["said"]
    assert r["windows"] >= 4 and 0.0 <= r["window_accuracy_open"] <= r["window_accuracy_restricted"] <= 1.0
    assert r["clip_accuracy_open"] >= 0.75  # real people the model never saw, over all 19 actions
    assert "window accuracy:" in res.output and "not in the vocabulary" in res.output


def test_eval_refuses_bad_arguments_in_one_sentence(tmp_path):
    res = CliRunner().invoke(app, ["eval", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output
    (tmp_path / "a").mkdir()
    res = CliRunner().invoke(app, ["eval", str(tmp_path), "--map", "jack"])
    assert res.exit_code == 2 and "--map takes NAME=LABEL" in res.output
