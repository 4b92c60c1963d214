"""Bad input to ``har-edge`` gets one sentence and exit 2: never a traceback, a crash, a hang or a silent run.

Each case here used to end otherwise: an OSError/OverflowError traceback for
a metrics port, UnicodeDecodeError for a binary config, TypeError for YAML
whose top level is a list, a failure at the first frame for an unwritable
output, a segfault for camera -1 (OpenCV 5), the input video overwritten by
``--output``, a NaN or negative interval accepted, a pass-phrase prompt on a
headless device.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from har.edge.cli import app
from har.edge.config import ConfigError, load_config
from tests.edge.colour import scenario


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def _one_sentence(res, expected: str) -> None:
    """Exit 2, and stderr is exactly one ``error:`` line that contains ``expected``."""
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    errors = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(errors) == 1 and errors[0].startswith("error: "), res.stderr
    assert expected in errors[0], errors[0]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return scenario(tmp_path_factory.mktemp("clip") / "red.avi", [("red", 1.0)])


def _run(colour_bundle, clip, *args):
    return _cli("run", "--bundle", colour_bundle, "--source", clip, "--no-console", *args)


# --------------------------------------------------------------------------- config reader


@pytest.mark.parametrize("name, content, expected", [
    ("binary.toml", bytes(range(256)), "is not text"),
    ("list.yaml", b"- a\n- b\n", "top level, not a list"),
    ("scalar.json", b"3", "top level, not a int"),
    ("deep.json", b"[" * 100_000 + b"]" * 100_000, "nests too deeply"),
    ("keys.yaml", b"1: a\nfoo: b\n", "unknown option 1"),  # keys of two types cannot be sorted
    ("nan.toml", b"[metrics]\ninterval_s = nan\n", "metrics.interval_s must be a finite number"),
    ("inf.toml", b"[smoother]\nmin_duration_s = inf\n", "smoother.min_duration_s must be a finite number"),
    ("negative.toml", b"[metrics]\ninterval_s = -1\n", "metrics.interval_s must be >= 0"),
    ("keepalive.toml", b"[mqtt]\nkeepalive_s = 70000\n", "keepalive_s must be from 1 to 65535"),
    ("threads.toml", b"[inference]\nthreads = 100000\n", "inference.threads must be at most 64"),
    ("camera.toml", b"[source]\ncamera = -1\n", "source.camera must be a camera index from 0 to 99"),
    ("bigcamera.toml", b"[source]\ncamera = 1400\n", "not 1400"),
    ("port.toml", b"[metrics]\nprometheus_port = 70000\n", "prometheus_port must be a TCP port"),
    ("labels.toml", b"[smoother]\nbackground_labels = [1]\n", "smoother.background_labels[0] must be str"),
])
def test_bad_config_files_are_one_sentence(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(ConfigError) as e:
        load_config(path, {"source.camera": None})  # None: a flag not given
    assert expected in str(e.value) and "\n" not in str(e.value)
    res = _cli("run", "--config", path, "--print-config")
    _one_sentence(res, expected)


def test_a_flag_under_a_key_that_is_not_a_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("source = 3\n")
    with pytest.raises(ConfigError, match=r"\[source\] must be a table of options, not 3"):
        load_config(path, {"source.camera": 0})


def test_flags_meet_the_same_checks(colour_bundle, clip):
    _one_sentence(_cli("run", "--camera", "-1", "--print-config"), "source.camera must be a camera index")
    _one_sentence(_run(colour_bundle, clip, "--threads", "100000"), "inference.threads must be at most 64")
    _one_sentence(_cli("predict", clip, "--bundle", colour_bundle, "--threads", "100000"), "at most 64")
    _one_sentence(_cli("info", colour_bundle, "--delegate", "gpu"), "unknown delegate 'gpu'")
    _one_sentence(_cli("bench", colour_bundle, "--threads", "100000"), "at most 64")
    _one_sentence(_run(colour_bundle, clip, "--metrics-port", "70000"), "prometheus_port must be a TCP port")
    _one_sentence(_cli("doctor", "--camera", "-1"), "--camera must be a camera index from 0 to 99")


def test_a_metrics_port_in_use_is_refused_before_anything_opens(colour_bundle, clip, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        res = _run(colour_bundle, clip, "--metrics-port", port, "--jsonl", tmp_path / "e.jsonl")
    _one_sentence(res, f"cannot serve metrics on 127.0.0.1:{port}")
    assert not (tmp_path / "e.jsonl").exists()  # refused before the sinks were opened


# --------------------------------------------------------------------------- outputs


def test_an_output_that_cannot_be_written_is_refused_at_start(colour_bundle, clip, tmp_path):
    (tmp_path / "file.txt").write_text("x")
    _one_sentence(_run(colour_bundle, clip, "--output", tmp_path / "file.txt" / "out.mp4"),
                  "is a file, not a folder")
    _one_sentence(_run(colour_bundle, clip, "--output", tmp_path), "is a folder")
    _one_sentence(_run(colour_bundle, clip, "--jsonl", tmp_path / "file.txt" / "deeper" / "e.jsonl"),
                  "cannot be written")


@pytest.mark.parametrize("flag", ["--output", "--jsonl"])
def test_an_output_that_is_the_source_is_refused_and_the_input_kept(colour_bundle, clip, tmp_path, flag):
    video = tmp_path / "in.avi"
    video.write_bytes(clip.read_bytes())
    before = video.read_bytes()
    _one_sentence(_run(colour_bundle, video, flag, tmp_path / "." / "in.avi"), "is the --source video itself")
    os.link(video, tmp_path / "hardlink.avi")
    _one_sentence(_run(colour_bundle, video, flag, tmp_path / "hardlink.avi"), "is the --source video itself")
    assert video.read_bytes() == before


def test_output_and_jsonl_may_not_be_one_file(colour_bundle, clip, tmp_path):
    out = tmp_path / "x.avi"
    _one_sentence(_run(colour_bundle, clip, "--output", out, "--jsonl", out), "are the same file")


# --------------------------------------------------------------------------- bundles through the CLI


def test_predict_refuses_a_bundle_with_more_labels_than_outputs(colour_bundle, clip, tmp_path):
    bundle = tmp_path / "b"
    bundle.mkdir()
    for f in colour_bundle.iterdir():
        (bundle / f.name).write_bytes(f.read_bytes())
    meta = json.loads((bundle / "metadata.json").read_text())
    meta["labels"].append("blue")
    meta["models"]["window"]["output"]["shape"] = [1, 4]
    (bundle / "metadata.json").write_text(json.dumps(meta))
    _one_sentence(_cli("predict", clip, "--bundle", bundle), "output is float32[1, 3] but metadata.json says "
                                                             "float32[1, 4]")
    _one_sentence(_cli("info", bundle), "model 'window'")


# --------------------------------------------------------------------------- real processes


def _har_edge(*args, timeout=120, **kw) -> subprocess.CompletedProcess:
    """The installed console entry point in a fresh process, without a terminal to prompt on."""
    code = "import sys; from har.edge.cli import main; sys.argv[0] = 'har-edge'; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, start_new_session=True, **kw)


def _one_line(proc, expected: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and expected in errors[0] and "Traceback" not in proc.stderr, proc.stderr


def test_camera_minus_one_never_reaches_opencv():
    _one_line(_har_edge("run", "--camera", "-1"), "source.camera must be a camera index")
    _one_line(_har_edge("doctor", "--camera", "-1"), "--camera must be a camera index")


def test_an_encrypted_tls_key_is_refused_instead_of_prompting(colour_bundle, clip, tmp_path):
    pytest.importorskip("paho.mqtt")
    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=har-test", "-passout", "pass:secret"],
                   check=True, capture_output=True, timeout=60)
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[mqtt]\nhost = "127.0.0.1"\ncert_file = "{cert}"\nkey_file = "{key}"\n'
                   f'outbox_path = "{tmp_path / "outbox.sqlite3"}"\n')
    proc = _har_edge("run", "--config", cfg, "--bundle", colour_bundle, "--source", clip, "--mqtt", timeout=60)
    _one_line(proc, f"MQTT key_file {key} is encrypted with a pass phrase")
