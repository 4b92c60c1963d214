"""The MQTT sink's retained topics: latest values coalesce, action transitions do not."""

from har.edge.sinks.retained import Retained
from har.edge.sinks.topics import Topics


def test_a_short_action_shows_on_then_off_and_latest_values_coalesce():
    r = Retained(Topics("har", "dev"), ["wave"])
    r.set_state(b"1")
    r.set_state(b"2")
    r.set_action("wave", True)
    r.set_action("wave", False)
    r.set_action("kick", True)  # not an announced label: nothing to publish
    sent = r.take()
    assert [(t, p) for t, p, _ in sent if t.endswith("action/wave")] == [("har/dev/action/wave", "ON"),
                                                                        ("har/dev/action/wave", "OFF")]
    assert [p for t, p, _ in sent if t == "har/dev/state"] == [b"2"]
    assert r.take() == []  # nothing changed since


def test_a_reconnect_sends_every_current_value_once():
    r = Retained(Topics("har", "dev"), ["wave", "clap"])
    r.take()
    r.set_action("wave", True)
    r.set_online(False)
    r.mark_all()
    sent = {t: p for t, p, _ in r.take()}
    assert sent == {"har/dev/availability": "offline", "har/dev/detect": "ON", "har/dev/action/wave": "ON",
                    "har/dev/action/clap": "OFF"}
