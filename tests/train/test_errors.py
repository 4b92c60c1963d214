"""The workstation CLI shares the edge's one error type: a HarError is one line and exit 2."""

from __future__ import annotations

import typer

from har.edge.clierrors import HarGroup
from har.edge.errors import HarError


def test_workstation_errors_are_har_errors_and_keep_their_bases():
    from har.export.tflite import ExportError
    from har.train.archives import ArchiveError
    from har.train.clips import VideoError
    from har.train.dataset import DatasetError
    from har.train.datasets import DatasetDownloadError
    from har.train.predict import ModelDirError

    for cls in (ExportError, ArchiveError, DatasetError, DatasetDownloadError, ModelDirError):
        assert issubclass(cls, HarError) and issubclass(cls, ValueError), cls
    assert issubclass(VideoError, HarError)


def test_both_clis_report_har_errors_through_one_group():
    from har.edge.cli import app as edge_app
    from har.train.cli import app as har_app

    assert isinstance(typer.main.get_command(har_app), HarGroup)
    assert isinstance(typer.main.get_command(edge_app), HarGroup)
