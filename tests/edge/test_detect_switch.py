"""Detection turned off and on mid-stream (MQTT's detect/set), and predict/info reading the config file."""

from __future__ import annotations

from typer.testing import CliRunner

from har.edge.bundle import load_bundle
from har.edge.capture import open_video
from har.edge.cli import app
from har.edge.config import load_config
from har.edge.pipeline import Pipeline
from har.edge.sinks.base import Sink
from tests.edge.colour import FPS, scenario


class Recorder(Sink):
    def __init__(self):
        self.events, self.snapshots = [], []

    def publish(self, event):
        self.events.append(event)

    def snapshot(self, event, frame):
        self.snapshots.append((event.event_id, frame.shape))

    def stop(self):
        pass


class FileFrames:
    """A file played as a camera would deliver it, calling ``hook(t)`` before each frame."""

    live, dropped, queue_depth, fps = False, 0, 0, FPS

    def __init__(self, path, hook):
        self.path, self.hook = path, hook

    def __iter__(self):
        cap = open_video(self.path)
        i = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            t = i / FPS
            self.hook(t)
            yield t, frame
            i += 1

    def stop(self):
        pass


def _pipe(colour_bundle):
    cfg = load_config(None, {"bundle": str(colour_bundle), "inference.stride": 1,
                             "smoother.background_labels": ["idle"]}, environ={})
    rec = Recorder()
    return Pipeline(cfg, load_bundle(colour_bundle), rec), rec


def test_detection_off_ends_the_open_action_and_classifies_nothing_until_on(colour_bundle, tmp_path):
    video = scenario(tmp_path / "s.avi", [("red", 3.0), ("green", 3.0), ("red", 3.0)])
    pipe, rec = _pipe(colour_bundle)
    pipe.run(FileFrames(video, lambda t: pipe.set_detect(not 2.0 <= t < 7.0)))
    actions = [(e.kind, e.label, e.ts) for e in rec.events if e.kind != "state"]
    assert [a[:2] for a in actions] == [("action_started", "red"), ("action_ended", "red"),
                                        ("action_started", "red"), ("action_ended", "red")]
    assert actions[1][2] == 2.0  # ended the moment detection went off; green (3-6 s) was never seen
    assert 7.0 <= actions[2][2] <= 8.5
    assert pipe.metrics.frames == 9 * FPS  # frames kept flowing (and the video sink would get them)
    assert [s[0] for s in rec.snapshots] == [e.event_id for e in rec.events if e.kind == "action_started"]


def test_predict_and_info_read_the_config_file(colour_bundle, tmp_path):
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f'bundle = "{colour_bundle}"\n[inference]\nthreads = 2\n')
    video = scenario(tmp_path / "r.avi", [("red", 2.0)])
    res = CliRunner().invoke(app, ["predict", str(video), "--config", str(cfg)])
    assert res.exit_code == 0 and "Action Predicted: red" in res.output, res.output
    res = CliRunner().invoke(app, ["info", "--config", str(cfg)])
    assert res.exit_code == 0 and str(colour_bundle) in res.output, res.output
    cfg.write_text(f'bundle = "{colour_bundle}"\n[inference]\ndelegate = "edgetpu"\n')
    res = CliRunner().invoke(app, ["info", "--config", str(cfg)])
    assert res.exit_code == 2 and "edgetpu" in res.output  # the config's delegate was tried
