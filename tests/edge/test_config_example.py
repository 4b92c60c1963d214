"""configs/edge.example.toml is generated from the config schema and stays in sync with it."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

from har.edge.config import EdgeConfig, load_config
from har.edge.config_example import HELP, MACHINE_DEFAULTS, options, render

EXAMPLE = Path(__file__).resolve().parents[2] / "configs" / "edge.example.toml"


def test_every_option_has_one_line_of_help_and_no_help_is_stale():
    keys = [k for k, _ in options()]
    assert set(keys) == set(HELP), f"missing help: {set(keys) - set(HELP)}; stale: {set(HELP) - set(keys)}"
    assert all("\n" not in h for h in HELP.values())


def test_the_committed_example_is_what_the_schema_renders():
    assert EXAMPLE.read_text() == render(), (
        "configs/edge.example.toml is out of date: python -c \"from har.edge.config_example import render; "
        "open('configs/edge.example.toml', 'w').write(render())\"")


def test_the_example_loads_and_every_value_written_is_the_code_default(tmp_path):
    data = tomllib.loads(EXAMPLE.read_text())
    cfg = load_config(EXAMPLE, environ={})
    default = EdgeConfig()
    written = 0
    for key, value in options():
        *tables, name = key.split(".")
        node = data
        for t in tables:
            node = node[t]
        if name in node:
            written += 1
            assert node[name] == value, key
            assert key not in MACHINE_DEFAULTS
        got = cfg
        for part in key.split("."):
            got = getattr(got, part)
        if key not in MACHINE_DEFAULTS:
            assert got == value, key
    assert written == sum(v is not None and k not in MACHINE_DEFAULTS for k, v in options())
    assert dataclasses.asdict(cfg.smoother) == dataclasses.asdict(default.smoother)
