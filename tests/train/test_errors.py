"""The workstation CLI shares the edge's one error type: a HarError is one line and exit 2."""

from __future__ import annotations

import typer

from har.edge.clierrors import HarGroup
from har.edge.errors import HarError


def test_workstation_errors_are_har_errors_and_keep_their_bases():
    from har.export.errors import ExportError
    from har.models.clips import VideoError
    from har.models.folder import ModelFolderError as ModelDirError
    from har.train.archives import ArchiveError
    from har.train.dataset import DatasetError
    from har.train.datasets import DatasetDownloadError

    for cls in (ExportError, ArchiveError, DatasetError, DatasetDownloadError, ModelDirError):
        assert issubclass(cls, HarError) and issubclass(cls, ValueError), cls
    assert issubclass(VideoError, HarError)


def test_both_clis_report_har_errors_through_one_group():
    from har.cli.main import app as har_app
    from har.edge.cli import app as edge_app

    assert isinstance(typer.main.get_command(har_app), HarGroup)
    assert isinstance(typer.main.get_command(edge_app), HarGroup)
