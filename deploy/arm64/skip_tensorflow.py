"""pytest plugin for the arm64 proof: a test that needs TensorFlow is reported as skipped, by name.

The arm64 root holds the base install (the edge runtime), which has no
TensorFlow by design; a few edge tests build their models with Keras first.
Such a test fails with ModuleNotFoundError for tensorflow or keras; this turns
exactly that failure into a skip that says so, and leaves every other failure
a failure.
"""

from __future__ import annotations

import pytest

NEEDS = ("tensorflow", "keras")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    exc = call.excinfo
    if report.failed and exc is not None and exc.errisinstance(ModuleNotFoundError) \
            and getattr(exc.value, "name", "") in NEEDS:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0,
                           f"needs {exc.value.name} (the train extra), not part of the edge install")
