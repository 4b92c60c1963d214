"""``har-edge doctor`` says whether XNNPACK takes the model that costs most per frame, and fails when it does not."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from har.edge.cli import app


@pytest.fixture
def reference_kernels_only(monkeypatch):
    """The runtime's Interpreter asking for its reference kernels only: what LiteRT does when XNNPACK cannot start."""
    from har.edge.litert import _runtime

    module, _ = _runtime()
    original = module.Interpreter

    class Reference(original):
        def __init__(self, *args, **kwargs):
            kwargs["experimental_op_resolver_type"] = module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(module, "Interpreter", Reference)


def _line(args: list[str]) -> tuple[str, int]:
    res = CliRunner().invoke(app, ["doctor", *args])
    return next(x for x in res.output.splitlines() if "xnnpack:" in x), res.exit_code


def test_the_default_models_landmark_model_runs_on_xnnpack(real_pose_models):
    line, code = _line([])
    assert line.startswith("[ ok ] xnnpack: in use: it takes the ") and "pose landmark model (pose_landmark" in line
    assert code == 0


def test_reference_kernels_fail_the_check_with_what_to_do(real_pose_models, reference_kernels_only):
    line, code = _line([])
    assert line.startswith("[FAIL] xnnpack: no op of the ") and "runs on XNNPACK" in line
    assert "/sys/devices/system/cpu" in line and code != 0


def test_a_pixel_bundle_is_checked_on_its_own_model(colour_bundle):
    line, _ = _line(["--bundle", str(colour_bundle)])
    assert line.startswith("[ ok ] xnnpack: in use: it takes the ") and " model (" in line


def test_a_pixel_bundle_on_reference_kernels_fails(colour_bundle, reference_kernels_only):
    line, code = _line(["--bundle", str(colour_bundle)])
    assert line.startswith("[FAIL] xnnpack: no op of the ") and ".tflite) runs on XNNPACK" in line and code != 0
