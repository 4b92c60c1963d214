"""Property tests for the three doors a stranger can push: bundles, configs and videos.

The property is the house rule for bad input: either a correct result, or a
:class:`~har.edge.errors.HarError` (``error: <one sentence>`` and exit 2 at the
CLI); never another exception, a traceback, a hang or a crash. Inputs start
from valid ones (a real bundle, a real config, a real clip) and are damaged
in the ways a copy, an editor or a camera damages them.

Each property runs twice: quickly in the default ("dev") profile, and as a
``slow`` twin in the "ci-long" profile (see tests/conftest.py).
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from har.edge.bundle import METADATA_FILE, load_bundle, sha256_file
from har.edge.cli import app
from har.edge.config import MAX_CAMERA_INDEX, MAX_THREADS, ConfigError, load_config
from har.edge.errors import HarError
from har.edge.interpreter import TfliteModel
from tests.edge.tiny_models import write_tiny_bundle
from tests.helpers import write_video

PROFILES = ["dev", pytest.param("ci-long", marks=pytest.mark.slow)]


def _check(prop, profile: str, **args) -> None:
    """Run the @given property ``prop`` under ``profile``; fixtures arrive as ``args``."""
    # Set, not decorate: the same @given function runs under both profiles in one session (`make test-all`).
    prop._hypothesis_internal_use_settings = settings(settings.get_profile(profile),
                                                      suppress_health_check=[HealthCheck.too_slow])
    prop(**args)


def _one_sentence(e: HarError) -> None:
    text = str(e)
    assert text and "\n" not in text and "Traceback" not in text, text


def _cli_ok_or_one_line(res) -> None:
    """A CliRunner result: success, or exit 2 with exactly one ``error:`` line on stderr."""
    if res.exit_code == 0:
        return
    assert res.exit_code == 2, (res.exit_code, res.output[-1500:], repr(res.exception))
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr


# --------------------------------------------------------------------------- JSON values

SCALARS = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True)
           | st.text(max_size=12) | st.sampled_from([0, 1, -1, 20, 64, 0.1, "int8", "float32", "RGB", "interval"]))
JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


def _paths(node, prefix=()):
    """Every key path into nested dicts and lists (the root excluded)."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key))


@st.composite
def damaged_metadata(draw, meta: dict) -> dict:
    """``meta`` with one to three edits: a value replaced by any JSON, a key removed, a key added."""
    meta = json.loads(json.dumps(meta))
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(meta))
        *parent_path, key = draw(st.sampled_from(paths))
        parent = meta
        for k in parent_path:
            parent = parent[k]
        action = draw(st.sampled_from(["replace", "remove", "add"]))
        if action == "replace":
            parent[key] = draw(JSON)
        elif action == "remove":
            parent.pop(key)
        elif isinstance(parent, dict):
            parent[draw(st.text(max_size=8))] = draw(JSON)
        else:
            parent.append(draw(JSON))
    return meta


# --------------------------------------------------------------------------- bundles


@pytest.fixture(scope="module")
def tiny_bundle(tiny_models, tmp_path_factory) -> Path:
    return write_tiny_bundle(tmp_path_factory.mktemp("prop_bundle") / "b", tiny_models).path


def _accepted_bundle_is_usable(bundle) -> None:
    """A bundle that loads must run: each pixel model takes its input and the head answers one per label."""
    for name, info in bundle.models.items():
        model = TfliteModel(bundle.path / info.file)
        out = model.run(np.zeros(info.input.shape, np.float32))
        assert out.shape == info.output.shape[1:]
        if name in ("window", "head"):
            assert out.shape == (len(bundle.labels),)


def _refused_or_usable(target: Path) -> None:
    """The property of the bundle door: one sentence, or a bundle that really runs."""
    try:
        bundle = load_bundle(target)
    except HarError as e:
        _one_sentence(e)
        return
    _accepted_bundle_is_usable(bundle)


def test_the_undamaged_bundle_loads_and_runs(tiny_bundle):
    """The control for the properties below: without damage the bundle takes the "usable" branch."""
    _accepted_bundle_is_usable(load_bundle(tiny_bundle))


@given(data=st.data())
def _bundle_metadata_property(tiny_bundle, work, data):
    meta = json.loads((tiny_bundle / METADATA_FILE).read_text())
    damaged = data.draw(damaged_metadata(meta))
    target = Path(tempfile.mkdtemp(dir=work))
    for f in tiny_bundle.iterdir():
        (target / f.name).symlink_to(f) if f.name != METADATA_FILE else None
    (target / METADATA_FILE).write_text(json.dumps(damaged))  # NaN and Infinity included, as json writes them
    _refused_or_usable(target)


@pytest.mark.parametrize("profile", PROFILES)
def test_damaged_metadata_is_refused_or_runs(profile, tiny_bundle, tmp_path):
    _check(_bundle_metadata_property, profile, tiny_bundle=tiny_bundle, work=tmp_path)


@given(name=st.sampled_from(["window", "encoder", "head"]), how=st.sampled_from(["random", "truncate", "flip"]),
       seed=st.integers(0, 2**32 - 1), size=st.integers(0, 4096))
@example(name="head", how="flip", seed=475463855, size=2)  # allocated fine, failed at invoke ("lacks data")
@example(name="head", how="flip", seed=24037, size=1)  # invoked fine, its output's data was null when read
def _bundle_model_file_property(tiny_bundle, work, name, how, seed, size):
    """A model file replaced, truncated or bit-flipped, with metadata.json re-hashed to match."""
    target = Path(tempfile.mkdtemp(dir=work))
    for f in tiny_bundle.iterdir():
        shutil.copyfile(f, target / f.name)
    meta = json.loads((target / METADATA_FILE).read_text())
    model = target / meta["models"][name]["file"]
    rng = np.random.default_rng(seed)
    data = bytearray(model.read_bytes())
    if how == "random":
        data = bytearray(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    elif how == "truncate":
        data = data[: size % (len(data) + 1)]
    else:
        for i in rng.integers(0, len(data), 1 + size % 8):
            data[i] ^= 1 << int(rng.integers(0, 8))
    model.write_bytes(bytes(data))
    meta["models"][name].update(sha256=sha256_file(model), bytes=model.stat().st_size)
    (target / METADATA_FILE).write_text(json.dumps(meta))
    _refused_or_usable(target)


@pytest.mark.parametrize("profile", PROFILES)
def test_damaged_model_files_are_refused_or_run(profile, tiny_bundle, tmp_path):
    _check(_bundle_model_file_property, profile, tiny_bundle=tiny_bundle, work=tmp_path)


# --------------------------------------------------------------------------- configs

SECTIONS = {"": ["bundle"], "source": ["camera", "source", "realtime", "picamera2", "width", "height"],
            "inference": ["threads", "delegate", "stride", "streaming"],
            "smoother": ["average_windows", "enter_threshold", "exit_threshold", "background_labels"],
            "sinks": ["console", "jsonl", "jsonl_max_bytes", "mqtt"],
            "mqtt": ["host", "port", "keepalive_s", "client_id", "qos_events", "device_id"],
            "metrics": ["interval_s", "prometheus_port", "prometheus_host"]}
TOML_VALUES = ["nan", "inf", "-inf", "-1", "0", "1", "2", "64", "65", "100000", "99999999999999999999", "1e400",
               "0.5", "true", '"auto"', '"edgetpu"', '""', '"x"', "[1, 2]", '["a"]', "{a = 1}", "1979-05-27"]


@st.composite
def config_files(draw) -> tuple[str, bytes]:
    """A TOML, YAML or JSON config: mostly known sections and keys with odd values, sometimes junk."""
    kind = draw(st.sampled_from(["toml", "yaml", "json", "bytes"]))
    if kind == "bytes":
        return draw(st.sampled_from([".toml", ".yaml", ".json"])), draw(st.binary(max_size=200))
    sections = draw(st.dictionaries(st.sampled_from(list(SECTIONS) + ["bogus"]),
                                    st.lists(st.sampled_from(sum(SECTIONS.values(), []) + ["typo"]),
                                             max_size=4, unique=True), max_size=4))
    if kind == "toml":
        lines = [f"{k} = {draw(st.sampled_from(TOML_VALUES))}" for k in sections.pop("", [])]
        for name, keys in sections.items():
            lines += [f"[{name}]"] + [f"{k} = {draw(st.sampled_from(TOML_VALUES))}" for k in keys]
        return ".toml", "\n".join(lines).encode()
    tree = {}
    for name, keys in sections.items():
        values = {k: draw(JSON) for k in keys}
        tree.update(values) if name == "" else tree.__setitem__(name, values)
    top = draw(st.sampled_from(["mapping", "list", "scalar"]))
    doc = tree if top == "mapping" else [tree] if top == "list" else draw(SCALARS)
    if kind == "yaml":
        return ".yaml", yaml.safe_dump(doc).encode()
    return ".json", json.dumps(doc).encode()


FLAGS = st.fixed_dictionaries({}, optional={
    "--camera": st.integers(-5, 2000).map(str), "--threads": st.integers(-2, 10**6).map(str),
    "--stride": st.integers(-2, 50).map(str), "--streaming": st.sampled_from(["auto", "on", "off", "sideways"]),
    "--metrics-port": st.integers(-1, 10**6).map(str), "--background": st.text(max_size=10).filter(
        lambda s: not s.startswith("-") and "\x00" not in s),
    "--delegate": st.sampled_from(["edgetpu", "gpu", ""]),
})
ENV = st.fixed_dictionaries({}, optional={
    "HAR_MQTT_PORT": st.sampled_from(["1883", "0", "70000", "abc", "-1", "1e3"]),
    "HAR_MQTT_HOST": st.text(max_size=10).filter(lambda s: "\x00" not in s),
    "HAR_MQTT_USERNAME": st.sampled_from(["pi"]),
})


def _config_is_sane(cfg) -> None:
    assert 1 <= cfg.inference.threads <= MAX_THREADS and cfg.inference.stride >= 1
    assert cfg.source.camera is None or 0 <= cfg.source.camera <= MAX_CAMERA_INDEX
    assert math.isfinite(cfg.metrics.interval_s) and cfg.metrics.interval_s >= 0
    assert cfg.metrics.prometheus_port is None or 1 <= cfg.metrics.prometheus_port <= 65535
    assert 1 <= cfg.mqtt.keepalive_s <= 65535 and 0 < cfg.mqtt.port < 65536


@given(file=config_files(), flags=FLAGS, env=ENV)
def _config_property(work, file, flags, env):
    suffix, content = file
    path = Path(tempfile.mkdtemp(dir=work)) / f"config{suffix}"
    path.write_bytes(content)
    args = ["run", "--config", str(path), "--print-config"] + [x for kv in flags.items() for x in kv]
    res = CliRunner(env=env).invoke(app, args)
    _cli_ok_or_one_line(res)
    if res.exit_code == 0:
        overrides = {"source.camera": int(flags["--camera"])} if "--camera" in flags else {}
        try:
            cfg = load_config(path, overrides, environ=env)
        except ConfigError:  # print-config accepted it, so this can only be a flag the CLI checks itself
            pytest.fail("load_config refused what --print-config accepted")
        _config_is_sane(cfg)


@pytest.mark.parametrize("profile", PROFILES)
def test_any_config_file_flags_and_env_give_a_config_or_one_sentence(profile, tmp_path):
    _check(_config_property, profile, work=tmp_path)


# --------------------------------------------------------------------------- videos

EXTS = [".mp4", ".avi", ".mkv", ".gif"]


@given(how=st.sampled_from(["random", "truncate", "odd"]), ext=st.sampled_from(EXTS),
       seed=st.integers(0, 2**32 - 1), size=st.integers(0, 20000),
       # 8 px at least: OpenCV 4.11's own MJPG *writer* corrupts its heap below that (a test-side limit)
       wh=st.tuples(st.integers(8, 48), st.integers(8, 48)), fps=st.sampled_from([0.5, 1.0, 7.5, 25.0, 240.0]))
def _video_property(colour_bundle, clip, work, how, ext, seed, size, wh, fps):
    target = Path(tempfile.mkdtemp(dir=work)) / f"v{ext}"
    rng = np.random.default_rng(seed)
    if how == "random":
        target.write_bytes(rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    elif how == "truncate":
        data = clip.read_bytes()
        target = target.with_suffix(clip.suffix)
        target.write_bytes(data[: size * len(data) // 20000])
    else:
        frames = [rng.integers(0, 256, (wh[1], wh[0], 3), dtype=np.uint8) for _ in range(1 + size % 40)]
        target = target.with_suffix(".avi")
        write_video(target, frames, fps)  # MJPG opens at every size drawn here; a refusal fails the test
    res = CliRunner().invoke(app, ["predict", str(target), "--bundle", str(colour_bundle)])
    _cli_ok_or_one_line(res)
    if res.exit_code == 0:
        assert "Action Predicted:" in res.output


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    from tests.edge.colour import scenario

    return scenario(tmp_path_factory.mktemp("prop_clip") / "red.avi", [("red", 1.5)])


@pytest.mark.parametrize("profile", PROFILES)
def test_any_video_file_gives_an_answer_or_one_sentence(profile, colour_bundle, clip, tmp_path):
    _check(_video_property, profile, colour_bundle=colour_bundle, clip=clip, work=tmp_path)


# --------------------------------------------------------------------------- a few real processes


def test_real_processes_never_show_a_traceback(colour_bundle, clip, tmp_path):
    """The console entry point, in its own process, on junk of each kind: one line and exit 2."""
    (tmp_path / "junk.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 5000, np.uint8).tobytes())
    (tmp_path / "cut.avi").write_bytes(clip.read_bytes()[:3000])
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    bad = tmp_path / "bundle"
    shutil.copytree(colour_bundle, bad)
    (bad / METADATA_FILE).write_text("[" * 50_000)
    cases = [["predict", tmp_path / "junk.mp4", "--bundle", colour_bundle],
             ["predict", tmp_path / "cut.avi", "--bundle", colour_bundle],
             ["run", "--config", tmp_path / "bin.toml"],
             ["info", bad]]
    code = "import sys; from har.edge.cli import main; sys.argv[0] = 'har-edge'; main()"
    for args in cases:
        proc = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True,
                              errors="replace", timeout=120, stdin=subprocess.DEVNULL)  # FFmpeg logs raw bytes
        assert proc.returncode == 2, (args, proc.returncode, proc.stderr[-1500:])
        assert "Traceback" not in proc.stderr, (args, proc.stderr[-1500:])
        assert [ln for ln in proc.stderr.splitlines() if ln.startswith("error:")], proc.stderr
