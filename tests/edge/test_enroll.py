"""``har-edge enroll`` end to end on a tiny real bundle whose embedding is known (tests/edge/enroll_bundle.py).

Blue clips are grey to the base head (it knows red, green, idle); enrolling
"blue" from two recordings must make blue clips take the new label through
the real pipeline, smoother, events and sinks, while red, green and grey
clips keep their own answers.
"""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from har.edge.bundle import load_bundle
from har.edge.cli import app
from har.edge.config import load_config
from har.edge.enroll import runtime, store
from har.edge.enroll.record import Recorder
from har.edge.enroll.runtime import EnrolledClassifier
from har.edge.errors import HarError
from har.edge.pipeline import Classifier, Pipeline
from har.edge.sinks.base import Sink
from har.edge.sources import FileSource
from tests.helpers import write_video

COLOURS = {"red": (40, 40, 220), "green": (40, 200, 40), "idle": (128, 128, 128), "blue": (220, 60, 40)}  # BGR


def clip(path: Path, segments: list[tuple[str, float]], fps: float = 20.0) -> Path:
    rng = np.random.default_rng(0)
    frames = []
    for name, seconds in segments:
        for _ in range(round(seconds * fps)):
            f = np.full((48, 64, 3), COLOURS[name], np.uint8)
            frames.append(np.clip(f + rng.normal(0, 6, f.shape), 0, 255).astype(np.uint8))
    return write_video(path, frames, fps)


@pytest.fixture(scope="session")
def enroll_bundle_master(tmp_path_factory) -> Path:
    from tests.edge.enroll_bundle import build_enroll_bundle
    from tests.edge.prebuilt import cached

    return cached("enroll_bundle", build_enroll_bundle, tmp_path_factory)


@pytest.fixture
def bundle_dir(enroll_bundle_master, tmp_path, monkeypatch) -> Path:
    """A private copy: its enrolment.json lies beside it, as on a device."""
    monkeypatch.delenv(store.ENV, raising=False)
    return Path(shutil.copytree(enroll_bundle_master, tmp_path / "bundle"))


def _enrol_blue(bundle_dir: Path, tmp_path: Path) -> CliRunner:
    video = clip(tmp_path / "blue.avi", [("idle", 1.0), ("blue", 3.0)])
    res = CliRunner().invoke(app, ["enroll", "--bundle", str(bundle_dir), "--label", "blue", "--source", str(video),
                                   "--start", "1.0", "--end", "2.5", "--source", str(video), "--start", "2.4",
                                   "--end", "4.0"])
    assert res.exit_code == 0, res.output
    assert "enrolled 'blue': 2 example(s)" in res.output
    return res


def _events(jsonl: Path) -> list[tuple[str, str]]:
    return [(e["kind"], e["label"]) for e in map(json.loads, jsonl.read_text().splitlines()) if e["kind"] != "state"]


def test_enrolled_label_takes_its_clips_and_nothing_else(bundle_dir, tmp_path):
    _enrol_blue(bundle_dir, tmp_path)
    assert (bundle_dir / store.FILE_NAME).is_file()
    video = clip(tmp_path / "s.avi", [("red", 3.0), ("blue", 3.0), ("idle", 3.0), ("green", 3.0)])
    jsonl = tmp_path / "events.jsonl"
    res = CliRunner().invoke(app, ["run", "--bundle", str(bundle_dir), "--source", str(video), "--background",
                                   "idle", "--jsonl", str(jsonl), "--output", str(tmp_path / "out.avi")])
    assert res.exit_code == 0, res.output
    assert _events(jsonl) == [("action_started", "red"), ("action_ended", "red"), ("action_started", "blue"),
                              ("action_ended", "blue"), ("action_started", "green"), ("action_ended", "green")]


def test_list_remove_export_import_and_info(bundle_dir, tmp_path):
    _enrol_blue(bundle_dir, tmp_path)
    run = CliRunner().invoke
    listed = run(app, ["enroll", "--bundle", str(bundle_dir), "--list"])
    assert listed.exit_code == 0 and "blue: 2 example(s)" in listed.output
    info = run(app, ["info", str(bundle_dir)])
    assert info.exit_code == 0 and "enrolled   1 label(s)" in info.output and "embed" in info.output
    exported = tmp_path / "blue.json"
    assert run(app, ["enroll", "--bundle", str(bundle_dir), "--export", str(exported)]).exit_code == 0
    removed = run(app, ["enroll", "--bundle", str(bundle_dir), "--remove", "blue"])
    assert removed.exit_code == 0 and "0 label(s) left" in removed.output
    missing = run(app, ["enroll", "--bundle", str(bundle_dir), "--remove", "blue"])
    assert missing.exit_code == 2 and "'blue' is not enrolled" in missing.output
    imported = run(app, ["enroll", "--bundle", str(bundle_dir), "--import", str(exported)])
    assert imported.exit_code == 0, imported.output
    assert list(store.read(bundle_dir / store.FILE_NAME, load_bundle(bundle_dir)).labels) == ["blue"]


def test_tampered_and_foreign_files_are_refused_in_one_sentence(bundle_dir, tmp_path, enroll_bundle_master):
    _enrol_blue(bundle_dir, tmp_path)
    path = bundle_dir / store.FILE_NAME
    data = json.loads(path.read_text())
    data["labels"]["blue"]["examples"][0]["embedding"][0] += 0.5
    path.write_text(json.dumps(data))
    res = CliRunner().invoke(app, ["run", "--bundle", str(bundle_dir), "--source", str(tmp_path / "blue.avi")])
    assert res.exit_code == 2
    assert res.output.count("\n") == 1 and "was changed after har-edge wrote it" in res.output

    # A file made for another bundle (here: the same models with another label order) is refused.
    other = Path(shutil.copytree(enroll_bundle_master, tmp_path / "other"))
    meta = json.loads((other / "metadata.json").read_text())
    meta["exported_at"] = "2000-01-01T00:00:00+00:00"
    (other / "metadata.json").write_text(json.dumps(meta))
    data["labels"]["blue"]["examples"][0]["embedding"][0] -= 0.5
    good = {**data, "sha256": store.content_sha256(data)}
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps(good))
    res = CliRunner().invoke(app, ["enroll", "--bundle", str(other), "--import", str(foreign)])
    assert res.exit_code == 2 and "was made with another model" in res.output
    with pytest.raises(HarError, match="another model"):
        store.read(foreign, load_bundle(other))


def test_bad_requests_are_one_sentence(bundle_dir, tmp_path):
    video = clip(tmp_path / "blue.avi", [("blue", 2.0)])
    cases = [
        (["--label", "a/b", "--source", str(video)], "becomes an MQTT topic"),
        (["--label", "x", "--source", str(video), "--start", "1", "--start", "2"], "once per --source"),
        (["--label", "x", "--source", str(video), "--start", "1.5", "--end", "1.0"], "must come after"),
        (["--label", "x", "--source", str(video), "--start", "9"], "past its end"),
        (["--label", "x"], "exactly one of --camera, --source and --folder"),
        (["--list", "--remove", "x"], "exactly one of"),
        (["--label", "x", "--folder", str(tmp_path / "nope")], "is not a folder"),
    ]
    for args, text in cases:
        res = CliRunner().invoke(app, ["enroll", "--bundle", str(bundle_dir), *args])
        assert res.exit_code == 2, (args, res.output)
        assert text in res.output and res.output.startswith("error: "), (args, res.output)


class Recording(Sink):
    def __init__(self):
        self.events, self.label_sets = [], []

    def publish(self, event) -> None:
        self.events.append(event)

    def labels_changed(self, labels) -> None:
        self.label_sets.append(list(labels))

    def stop(self) -> None:
        pass


def test_a_running_pipeline_picks_up_a_changed_file_and_survives_a_bad_one(bundle_dir, tmp_path, monkeypatch):
    """Enrol while running (file change), break the file (kept), remove the label (SIGHUP path)."""
    monkeypatch.setattr(runtime, "CHECK_INTERVAL_S", 0.0)
    bundle = load_bundle(bundle_dir)
    path = bundle_dir / store.FILE_NAME
    rec = Recorder(bundle)
    enrolment = store.new_enrolment(bundle)
    enrolment.labels["blue"] = [rec.from_file(clip(tmp_path / "b.avi", [("blue", 2.5)]))]
    cfg = load_config(None, {"bundle": str(bundle_dir), "smoother.background_labels": ["idle"]})
    clf = EnrolledClassifier(Classifier(bundle), bundle)
    sink = Recording()
    pipe = Pipeline(cfg, bundle, sink, classifier=clf)
    assert clf.labels == bundle.labels  # nothing enrolled yet
    video = clip(tmp_path / "s.avi", [("blue", 3.0), ("blue", 3.0), ("blue", 3.0), ("blue", 3.0)])

    class Source(FileSource):
        """Changes the enrolment file at 3 s, 6 s and 9 s of media time, like a user would."""

        def __iter__(self):
            for i, item in enumerate(super().__iter__()):
                if i == 60:
                    store.write(path, enrolment)
                elif i == 120:
                    path.write_text("{ half a file")
                elif i == 180:
                    store.write(path, store.Enrolment(enrolment.bundle_sha256, enrolment.dim, {}))
                    clf.request_reload()
                yield item

    pipe.run(Source(video))
    kinds = [(e.kind, e.label) for e in sink.events if e.kind != "state"]
    assert kinds == [("action_started", "blue"), ("action_ended", "blue")]
    started, ended = (e for e in sink.events if e.kind != "state")
    assert 3.0 <= started.ts <= 5.0 and 9.0 <= ended.ts <= 10.0  # the bad file at 6 s changed nothing
    assert sink.label_sets == [["green", "red", "blue"], ["green", "red"]]


def test_examples_and_thresholds_survive_a_restart(bundle_dir, tmp_path):
    _enrol_blue(bundle_dir, tmp_path)
    bundle = load_bundle(bundle_dir)
    a = runtime.fit(bundle, store.read(bundle_dir / store.FILE_NAME, bundle))
    b = runtime.fit(load_bundle(bundle_dir), store.read(bundle_dir / store.FILE_NAME, load_bundle(bundle_dir)))
    assert a.labels == b.labels == ["blue"]
    np.testing.assert_allclose(a.prototypes, b.prototypes, atol=1e-6)
    np.testing.assert_allclose(a.similarity_thresholds, b.similarity_thresholds, atol=1e-6)


def _wait_for_handler(pid: int, signum: int, timeout_s: float = 120.0) -> None:
    """Until process ``pid`` catches ``signum`` (Linux: the SigCgt mask in /proc), however slow its start-up."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = Path(f"/proc/{pid}/status").read_text()
        caught = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
        if caught >> (signum - 1) & 1:
            return
        time.sleep(0.1)
    raise AssertionError(f"process {pid} did not install a handler for signal {signum} in {timeout_s:.0f} s")


def test_run_reloads_on_sighup_without_restarting(bundle_dir, tmp_path):
    """A real `har-edge run` process: the label enrolled while it runs appears in its events after SIGHUP."""
    import os
    import signal
    import subprocess
    import sys
    import time

    video = clip(tmp_path / "long.avi", [("blue", 30.0)])
    jsonl = tmp_path / "events.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "har.edge.cli", "run", "--bundle", str(bundle_dir), "--source",
                             str(video), "--realtime", "--jsonl", str(jsonl), "--background", "idle"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    try:
        _wait_for_handler(proc.pid, signal.SIGHUP)  # before it, SIGHUP's default action would end the process
        time.sleep(1.0)
        _enrol_blue(bundle_dir, tmp_path)
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (jsonl.exists() and "blue" in jsonl.read_text()):
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert ("action_started", "blue") in _events(jsonl), err[-2000:]
    assert "enrolled labels from" in err


def test_enrolment_file_is_written_atomically_while_read(bundle_dir, tmp_path):
    """A reader never sees half a file: every read is the old or the new enrolment, never an error."""
    bundle = load_bundle(bundle_dir)
    path = bundle_dir / store.FILE_NAME
    e = store.new_enrolment(bundle)
    e.labels["blue"] = [store.Example(np.ones(3, np.float32), "x")]
    store.write(path, e)
    errors, stop = [], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                store.read(path, bundle)
            except HarError as ex:
                errors.append(ex)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(100):
        e.labels["blue"][0].embedding[0] = i
        store.write(path, e)
    stop.set()
    t.join()
    assert not errors


def test_a_live_recording_counts_down_then_records_one_window(bundle_dir, tmp_path):
    """The camera path, fed by a file played at its own pace (what a camera delivers)."""
    from har.edge.sinks.video import VideoSink

    bundle = load_bundle(bundle_dir)
    video = clip(tmp_path / "live.avi", [("idle", 1.0), ("blue", 3.0)])
    said, out = [], VideoSink(tmp_path / "session.avi", 20.0)
    ex = Recorder(bundle).from_live(FileSource(video, realtime=True), seconds=2.0, countdown_s=1.0, label="blue 1/1",
                                    tick=said.append, frame_out=lambda f, text: out.write(f, text, 1.0))
    out.stop()
    assert said == ["blue 1/1: get ready 1", "blue 1/1: recording for 2 s"]
    assert ex.windows >= 1 and out.frames > 20  # every frame of countdown and recording went to the video
    blue = Recorder(bundle).from_file(video, 1.0, 3.0).embedding
    assert float(ex.embedding @ blue) > 0.95  # what was recorded is the blue part
