"""Names other datasets give the default model's actions, so a labelled folder can be scored as it is.

Why here: a person pointing ``har-edge eval`` at KTH, Weizmann, UCF101 or
HMDB51 class folders should not have to rename anything. Matching ignores
case, spaces, hyphens and underscores. A class with no entry here (and no
label of that name in the bundle) is still evaluated: its clips show what
the model said instead, and they are left out of the accuracies.
"""

from __future__ import annotations

import re

#: Labels that mean "nothing in particular is happening": never reported as an action unless the config says
#: otherwise (``smoother.background_labels``), so standing still does not start and end events all day.
BACKGROUND_NAMES = frozenset({"idle", "none", "noaction", "background", "nothing"})

#: Dataset class name (normalized) -> default vocabulary label.
ALIASES = {
    # KTH
    "boxing": "box", "handclapping": "clap", "handwaving": "wave_two_hands", "jogging": "jog",
    "running": "run", "walking": "walk",
    # Weizmann
    "bend": "bend_down", "jack": "jumping_jack", "jump": "jump_forward", "pjump": "jump_in_place",
    "side": "side_gallop", "wave1": "wave_one_hand", "wave2": "wave_two_hands",
    # UCF101 / HMDB51 / everyday names
    "jumpingjack": "jumping_jack", "jumpingjacks": "jumping_jack", "boxingpunchingbag": "box", "punch": "box",
    "clapping": "clap", "clap": "clap", "wave": "wave_one_hand", "waving": "wave_one_hand",
    "kick": "kick", "kicking": "kick", "fallfloor": "fall", "falling": "fall", "falldown": "fall",
    "sit": "sit_down", "sitdown": "sit_down", "sitting": "sit_down", "stand": "stand_up", "standup": "stand_up",
    "standing": "idle", "squat": "squat", "squatting": "squat", "bodyweightsquats": "squat", "pick": "bend_down",
    "pickup": "bend_down", "bending": "bend_down", "skipping": "skip", "jumpinplace": "jump_in_place",
    "jumpforward": "jump_forward", "sidegallop": "side_gallop", "walk": "walk", "run": "run", "jog": "jog",
    "idle": "idle", "noaction": "idle",
}


def normalize(name: str) -> str:
    return re.sub(r"[\s_\-]+", "", name).lower()


def map_class(name: str, labels: list[str], extra: dict[str, str] | None = None) -> str | None:
    """The bundle label a dataset class stands for, or None when the model has no such action."""
    key = normalize(name)
    if extra:
        for k, v in extra.items():
            if normalize(k) == key:
                return v if v in labels else None
    by_norm = {normalize(lab): lab for lab in labels}
    if key in by_norm:
        return by_norm[key]
    target = ALIASES.get(key)
    return target if target in labels else None
