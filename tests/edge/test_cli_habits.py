"""Both CLIs: --version, -v after the command, NO_COLOR, log lines under journald, [train] extra."""

from __future__ import annotations

import os
import subprocess
import sys

import typer
from typer.testing import CliRunner

from har.cli.main import app as train_app
from har.edge import __version__
from har.edge.cli import app as edge_app
from har.edge.cliutil import hoist_verbose
from har.train.extras import TrainGroup


def test_version_on_both_clis():
    assert CliRunner().invoke(edge_app, ["--version"]).output == f"har-edge {__version__}\n"
    assert CliRunner().invoke(train_app, ["--version"]).output == f"har {__version__}\n"


def test_verbose_after_the_command_is_moved_before_it():
    assert hoist_verbose(["run", "--camera", "0", "-v"]) == ["-v", "run", "--camera", "0"]
    assert hoist_verbose(["info", "--verbose", "b"]) == ["--verbose", "info", "b"]
    assert hoist_verbose(["run", "--", "-v"]) == ["run", "--", "-v"]
    assert hoist_verbose(["run"]) == ["run"]


def _run(args, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "JOURNAL_STREAM")} | env
    return subprocess.run([sys.executable, "-c", "from har.edge.cli import main; main()", *args],
                          capture_output=True, text=True, env=full, timeout=120)


def test_verbose_after_the_subcommand_is_accepted_by_the_console_script(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[inference]\nthreads = 1\n")
    res = _run(["run", "--config", str(cfg), "--print-config", "-v"])
    assert res.returncode == 0, res.stderr  # a subcommand alone would say "No such option: -v"
    assert '"threads": 1' in res.stdout


def test_log_lines_leave_the_timestamp_to_journald(tmp_path):
    code = "from har.edge.cliutil import setup_logging; import logging; setup_logging(False); logging.getLogger('x').info('hi')"
    err = tmp_path / "stderr"
    with open(err, "w") as f:
        st = os.fstat(f.fileno())
        subprocess.run([sys.executable, "-c", code], stderr=f, check=True, timeout=60,
                       env=dict(os.environ, JOURNAL_STREAM=f"{st.st_dev}:{st.st_ino}"))
    assert err.read_text() == "INFO x: hi\n"
    with open(err, "w") as f:
        subprocess.run([sys.executable, "-c", code], stderr=f, check=True, timeout=60,
                       env={k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"})
    line = err.read_text()
    assert line.endswith("INFO x: hi\n") and line[:4].isdigit()  # 2026-12-01 14:39:12,720 INFO x: hi


def test_no_color_turns_the_error_line_plain(monkeypatch):
    monkeypatch.setenv("NO_COLOR", "1")
    res = CliRunner().invoke(edge_app, ["init", "--dir", "/proc/nope", "--no-unit"], color=True)
    assert res.exit_code == 2 and res.output.startswith("error: ") and "\x1b[" not in res.output
    monkeypatch.delenv("NO_COLOR")
    res = CliRunner().invoke(edge_app, ["init", "--dir", "/proc/nope", "--no-unit"], color=True)
    assert "\x1b[31m" in res.output  # red on a colour terminal when NO_COLOR is unset


def test_a_command_that_needs_tensorflow_names_the_train_extra():
    app = typer.Typer(cls=TrainGroup)

    @app.command()
    def train() -> None:
        raise ModuleNotFoundError("No module named 'keras'", name="keras")

    @app.command()
    def other() -> None:
        raise ModuleNotFoundError("No module named 'somethingelse'", name="somethingelse")

    res = CliRunner().invoke(app, ["train"])
    assert res.exit_code == 2 and res.output.startswith("error: this command needs the [train] extra (keras")
    assert "Traceback" not in res.output
    res = CliRunner().invoke(app, ["other"])
    assert isinstance(res.exception, ModuleNotFoundError)  # anything else is a bug and keeps its traceback
