import numpy as np
import pytest

from har.edge.events import ACTION_ENDED, ACTION_STARTED, STATE
from har.edge.smoother import Smoother, SmootherConfig

LABELS = ["none", "wave", "clap"]


def onehot(label, p=0.9):
    """A probability vector with ``p`` on ``label`` and the rest spread evenly."""
    i = LABELS.index(label)
    v = np.full(len(LABELS), (1.0 - p) / (len(LABELS) - 1))
    v[i] = p
    return v


def vec(wave, clap=0.0):
    return np.array([1.0 - wave - clap, wave, clap])


def run(smoother, steps):
    """Feed (ts, probs) pairs; return all non-state events."""
    out = []
    for ts, probs in steps:
        out += [e for e in smoother.update(ts, probs) if e.kind != STATE]
    return out


def plain(**kw):
    cfg = dict(average_windows=1, background_labels=["none"], state_interval_s=0.0)
    cfg.update(kw)
    return Smoother(LABELS, SmootherConfig(**cfg))


def test_a_then_b_then_background_gives_ordered_events_with_times():
    sm = plain()
    seq = [
        (0.0, "none"),
        (1.0, "wave"),
        (2.0, "wave"),
        (3.0, "clap"),
        (4.0, "clap"),
        (5.0, "none"),
        (6.0, "none"),
    ]
    events = run(sm, [(t, onehot(lab)) for t, lab in seq])
    assert [(e.kind, e.label) for e in events] == [
        (ACTION_STARTED, "wave"),
        (ACTION_ENDED, "wave"),
        (ACTION_STARTED, "clap"),
        (ACTION_ENDED, "clap"),
    ]
    s_wave, e_wave, s_clap, e_clap = events
    assert (s_wave.ts, s_wave.started_at) == (1.0, 1.0)
    assert (e_wave.ts, e_wave.started_at, e_wave.ended_at, e_wave.duration_s) == (3.0, 1.0, 3.0, 2.0)
    assert (s_clap.started_at, e_clap.ended_at, e_clap.duration_s) == (3.0, 5.0, 2.0)
    assert e_wave.start_event_id == s_wave.event_id and e_clap.start_event_id == s_clap.event_id
    assert e_wave.confidence == pytest.approx(0.9) and s_wave.confidence == pytest.approx(0.9)
    assert sm.current == (None, 0.0)


def test_background_labels_never_produce_events():
    sm = plain()
    assert run(sm, [(t, onehot("none")) for t in range(10)]) == []


def test_hysteresis_prevents_flicker_around_the_threshold():
    wobble = [0.59, 0.62, 0.55, 0.65, 0.45, 0.61, 0.42, 0.58, 0.41]  # around enter=0.6, always >= exit=0.4
    steps = [(float(i), vec(p)) for i, p in enumerate(wobble)]
    events = run(plain(enter_threshold=0.6, exit_threshold=0.4), steps)
    assert [(e.kind, e.ts) for e in events] == [(ACTION_STARTED, 1.0)]
    # Without a hysteresis band the same signal flickers.
    flicker = run(plain(enter_threshold=0.6, exit_threshold=0.6), steps)
    assert len(flicker) >= 6
    # Dropping below exit ends it.
    sm = plain()
    events = run(sm, steps + [(9.0, vec(0.39)), (10.0, vec(0.39))])
    assert [(e.kind, e.ts) for e in events] == [(ACTION_STARTED, 1.0), (ACTION_ENDED, 9.0)]
    assert events[1].confidence == pytest.approx(np.mean(wobble[1:]))  # mean while active


def test_min_duration_suppresses_blips_but_keeps_the_true_start_time():
    sm = plain(min_duration_s=1.0, exit_threshold=0.3)
    steps = [(0.0, onehot("none")), (0.5, onehot("wave")), (1.0, onehot("wave")), (1.4, onehot("none"))]
    assert run(sm, steps) == []  # a 0.9 s blip
    steps = [(2.0, onehot("wave")), (2.5, onehot("wave")), (3.0, onehot("wave")), (3.5, onehot("wave"))]
    events = run(sm, steps)
    assert [(e.kind, e.ts, e.started_at) for e in events] == [(ACTION_STARTED, 3.0, 2.0)]
    # A short takeover by another label (wave stays above exit) does not end the running action...
    takeover = vec(wave=0.35, clap=0.65)
    assert run(sm, [(4.0, takeover), (4.5, takeover), (5.0, onehot("wave"))]) == []
    assert sm.current[0] == "wave"
    # ...a long one does, and the end is when the other label took over.
    events = run(sm, [(6.0, takeover), (6.5, takeover), (7.0, takeover)])
    assert [(e.kind, e.label) for e in events] == [(ACTION_ENDED, "wave"), (ACTION_STARTED, "clap")]
    assert events[0].ended_at == 6.0 and events[0].ts == 7.0 and events[1].started_at == 6.0
    # min_duration guards starts only: falling below exit ends at once.
    events = run(sm, [(7.5, onehot("none"))])
    assert [(e.kind, e.label, e.ended_at) for e in events] == [(ACTION_ENDED, "clap", 7.5)]


def test_background_must_win_past_enter_to_end_an_action():
    sm = plain()
    run(sm, [(0.0, onehot("wave"))])
    # background on top but below enter: the action holds (hysteresis)
    assert run(sm, [(1.0, np.array([0.55, 0.45, 0.0]))]) == []
    events = run(sm, [(2.0, np.array([0.65, 0.35, 0.0]))])
    assert [(e.kind, e.ended_at) for e in events] == [(ACTION_ENDED, 2.0)]


def test_moving_average_delays_and_smooths():
    sm = Smoother(LABELS, SmootherConfig(average_windows=3, background_labels=["none"], state_interval_s=0))
    events = run(sm, [(0.0, onehot("none", 1.0)), (1.0, onehot("wave", 1.0)), (2.0, onehot("wave", 1.0))])
    assert [(e.kind, e.ts) for e in events] == [(ACTION_STARTED, 2.0)]  # mean reaches 2/3 at t=2
    assert sm.current == ("wave", pytest.approx(2 / 3))
    # one bad clip does not end it: the average stays at 2/3 >= exit
    assert run(sm, [(3.0, onehot("none", 1.0))]) == []


def test_flush_ends_an_open_action_and_resets():
    sm = plain()
    run(sm, [(0.0, onehot("wave")), (1.0, onehot("wave"))])
    events = sm.flush(4.0)
    assert [(e.kind, e.label, e.ended_at, e.duration_s) for e in events] == [(ACTION_ENDED, "wave", 4.0, 4.0)]
    assert sm.flush() == []
    assert sm.current == (None, 0.0)
    # after a flush a new stream may start again at t=0
    assert [e.kind for e in run(sm, [(0.0, onehot("clap"))])] == [ACTION_STARTED]
    assert [e.ended_at for e in sm.flush()] == [0.0]


def test_state_events_are_periodic_and_follow_changes():
    sm = Smoother(LABELS, SmootherConfig(average_windows=1, background_labels=["none"], state_interval_s=5.0))
    states = []
    for t in range(12):
        probs = onehot("wave") if 7 <= t <= 8 else onehot("none")
        for e in sm.update(float(t), probs, stats={"fps": 15.0, "latency_ms": 20.0}):
            if e.kind == STATE:
                states.append(e)
    # t=0 first, t=5 periodic, t=7 started, t=9 ended, then periodic again 5 s after t=9
    assert [e.ts for e in states] == [0.0, 5.0, 7.0, 9.0]
    s7 = states[2]
    assert (s7.label, s7.started_at, s7.stats["fps"]) == ("wave", 7.0, 15.0)
    assert set(s7.probabilities) == set(LABELS) and s7.probabilities["wave"] == pytest.approx(0.9)
    assert states[3].label is None and states[3].confidence == 0.0
    sm2 = Smoother(LABELS, SmootherConfig(state_interval_s=0))
    assert all(e.kind != STATE for t in range(10) for e in sm2.update(float(t), onehot("wave")))


def test_deterministic():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(3) * 0.3, size=200)

    def sig():
        sm = Smoother(LABELS, SmootherConfig(background_labels=["none"], min_duration_s=0.5))
        evs = [e for i, p in enumerate(probs) for e in sm.update(i * 0.25, p)] + sm.flush()
        return [(e.kind, e.label, e.ts, e.started_at, e.ended_at, round(e.confidence, 9)) for e in evs]

    assert sig() == sig() and len(sig()) > 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(enter_threshold=0.3, exit_threshold=0.5), "exit_threshold <= enter_threshold"),
        (dict(enter_threshold=1.2), "<= 1"),
        (dict(exit_threshold=-0.1), "0 <= exit"),
        (dict(average_windows=0), "at least 1"),
        (dict(average_windows=2.5), "integer"),
        (dict(min_duration_s=-1), "min_duration_s"),
        (dict(state_interval_s=-1), "state_interval_s"),
        (dict(enter_threshold=float("nan")), "finite"),
        (dict(background_labels="none"), "list"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SmootherConfig(**kwargs)


def test_input_validation():
    with pytest.raises(ValueError, match="not among"):
        Smoother(LABELS, SmootherConfig(background_labels=["nothing"]))
    with pytest.raises(ValueError, match="unique"):
        Smoother(["a", "a"])
    sm = Smoother(LABELS)
    with pytest.raises(ValueError, match="Expected 3"):
        sm.update(0.0, np.ones(4) / 4)
    with pytest.raises(ValueError, match="finite"):
        sm.update(0.0, np.array([np.nan, 0.5, 0.5]))
    sm.update(1.0, np.ones((1, 3)) / 3)  # a batch axis of 1 is fine
    with pytest.raises(ValueError, match="must not decrease"):
        sm.update(0.5, np.ones(3) / 3)
