"""The action vocabulary: each action is a *family* of motions with its own random parameters.

Why families and not clips: a head trained on one canonical jumping jack
learns that jack. Each generator draws its tempo, amplitudes, style variant
and handedness per take, around values from the biomechanics literature and
from what BlazePose reports on real clips, so the head has to learn what all
jacks share. ``style.energy`` (per actor) scales tempo and reach a little:
one actor is brisk in every action, another slow.

Every generator takes ``(t, rng, style)``: ``t`` the frame times in seconds,
and returns a :class:`~har.train.motion.body.Motion`. Transitions (sit down,
stand up, fall) place their event so that any window of the take holds most
of it; cyclic actions may start from standing (a lead-in).

The generators live by kind of movement: :mod:`.locomotion`, :mod:`.jumps`,
:mod:`.standing` and :mod:`.lowering`, built from :mod:`.curves`. This module
is the one list of them.
"""

from __future__ import annotations

from collections.abc import Callable

from har.train.motion.curves import Style
from har.train.motion.jumps import jump_forward, jump_in_place, jumping_jack
from har.train.motion.locomotion import jog, run, side_gallop, skip, walk
from har.train.motion.lowering import bend_down, fall, sit_down, squat, stand_up
from har.train.motion.standing import box, clap, idle, kick, wave_one_hand, wave_two_hands

__all__ = ["ACTIONS", "TRANSITIONS", "TRAVELLING", "Style", "idle"]

#: Action name -> generator. The order is the vocabulary's; labels are sorted wherever classes are listed.
ACTIONS: dict[str, Callable] = {
    "idle": idle, "walk": walk, "jog": jog, "run": run,
    "wave_one_hand": wave_one_hand, "wave_two_hands": wave_two_hands, "clap": clap, "box": box,
    "jump_forward": jump_forward, "jump_in_place": jump_in_place, "jumping_jack": jumping_jack,
    "side_gallop": side_gallop, "skip": skip, "bend_down": bend_down, "squat": squat,
    "stand_up": stand_up, "sit_down": sit_down, "fall": fall, "kick": kick,
}
#: Actions whose takes are one event (kept short, the event in the middle) rather than a repeating motion.
TRANSITIONS = frozenset({"stand_up", "sit_down", "fall"})
#: Actions that travel (the camera may pan to follow, the person may leave the frame).
TRAVELLING = frozenset({"walk", "jog", "run", "skip", "side_gallop", "jump_forward"})
