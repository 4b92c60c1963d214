"""Where two runs' events part, whether the decision there was borderline: within the measured difference.

Two machines whose floating point differs in the last bits give window
probabilities a little apart; the smoother turns them into events with hard
thresholds, so a probability that sits on a threshold on one machine can
fall just under it on the other. Calling that a failure would be wrong, and
hiding it would be worse. This replays the smoother (the real
:class:`har.edge.smoother.Smoother`, on the probabilities each run recorded)
to find the *deciding window*: the first one after which the two smoothers
are in a different state (active action, candidate). There it lists every
check whose outcome differs between the machines, with its margin on each:

* ``top``: which label is the arg-max of the averaged probabilities
  (margin: top-1 minus top-2; two probabilities move, so the bound is twice
  the measured difference);
* ``enter``: the top label's averaged probability against ``enter_threshold``;
* ``exit``: the active action's averaged probability against ``exit_threshold``.

A differing check is *borderline* when its margin on both machines is within
``noise``: the largest absolute difference of the averaged probabilities
measured independently of this window, between two correct implementations
(test-arm64.sh passes x86 against itself with LiteRT's builtin kernels
instead of XNNPACK). So small a difference arises anyway and is enough to
tip the decision. (The difference at the window itself is no yardstick: a
check that went differently has by construction both margins within it.)
The difference is explained when every differing check there is borderline.
"""

from __future__ import annotations

import numpy as np


def _replay(run: dict, cfg: dict) -> list[tuple]:
    """(active, candidate) label indices after each window, and the active one before it."""
    from har.edge.smoother import Smoother, SmootherConfig

    sm = Smoother(cfg["labels"], SmootherConfig(
        average_windows=cfg["average_windows"], enter_threshold=cfg["enter_threshold"],
        exit_threshold=cfg["exit_threshold"], min_duration_s=cfg["min_duration_s"],
        background_labels=cfg["background_labels"], state_interval_s=0.0))
    states = []
    for ts, p in zip(run["windows_ts"], run["probs"], strict=True):
        before = sm._active.index if sm._active is not None else None
        sm.update(float(ts), p)
        states.append((sm._active.index if sm._active is not None else None,
                       sm._candidate.index if sm._candidate is not None else None, before))
    return states


def _checks(avg: np.ndarray, active_before: int | None, cfg: dict) -> dict:
    order = np.argsort(avg)[::-1]
    top, second = int(order[0]), int(order[1])
    out = {"top": (cfg["labels"][top], float(avg[top] - avg[second])),
           "enter": (bool(avg[top] >= cfg["enter_threshold"]), float(avg[top] - cfg["enter_threshold"]))}
    if active_before is not None:
        a = float(avg[active_before])
        out["exit"] = (bool(a < cfg["exit_threshold"]), float(a - cfg["exit_threshold"]))
    return out


def deciding_window(x86: dict, arm: dict, cfg: dict, noise: float | None) -> dict | None:
    """The first window where the replayed smoothers differ, its checks and whether it is borderline.

    ``noise`` None: no yardstick was measured, and nothing is called borderline."""
    n = min(len(x86["windows_ts"]), len(arm["windows_ts"]))
    sx, sa = _replay(x86, cfg), _replay(arm, cfg)
    j = next((i for i in range(n) if sx[i][:2] != sa[i][:2]), None)
    if j is None:
        return None
    ax, aa = x86["averaged"][j], arm["averaged"][j]
    d = float(np.abs(ax - aa).max())
    cx, ca = _checks(ax, sx[j][2], cfg), _checks(aa, sa[j][2], cfg)
    label = lambda i: None if i is None else cfg["labels"][i]  # noqa: E731
    differing = {}
    for name in cx.keys() & ca.keys():
        if cx[name][0] != ca[name][0]:
            bound = None if noise is None else 2 * noise if name == "top" else noise
            differing[name] = {"x86": cx[name][0], "arm64": ca[name][0],
                               "margin_x86": round(cx[name][1], 4), "margin_arm64": round(ca[name][1], 4),
                               "bound": None if bound is None else round(bound, 4),
                               "borderline": bound is not None and abs(cx[name][1]) <= bound
                               and abs(ca[name][1]) <= bound}
    top = lambda avg: {cfg["labels"][i]: round(float(avg[i]), 4) for i in np.argsort(avg)[::-1][:3]}  # noqa: E731
    return {"window": j, "ts": round(float(x86["windows_ts"][j]), 2),
            "state_x86": {"active": label(sx[j][0]), "candidate": label(sx[j][1]), "active_before": label(sx[j][2])},
            "state_arm64": {"active": label(sa[j][0]), "candidate": label(sa[j][1]),
                            "active_before": label(sa[j][2])},
            "top3_x86": top(ax), "top3_arm64": top(aa), "max_abs_diff_averaged": round(d, 4),
            "differing_checks": differing,
            "borderline": bool(differing) and all(c["borderline"] for c in differing.values())}
