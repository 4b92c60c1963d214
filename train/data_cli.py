"""``har data download``: fetch UCF50, UCF101 or HMDB51 into the layout ``har train`` reads.

Mounted on the ``data`` group by :mod:`har.train.cli`; the work is in
:mod:`har.train.datasets`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from har.train.errors import TrainError


def register(data_app: typer.Typer) -> None:
    @data_app.command("download")
    def data_download(
        name: Annotated[str | None, typer.Argument(help="ucf50, ucf101 or hmdb51 (or use --preset).")] = None,
        dir: Annotated[Path, typer.Option("--dir", help="Data root: archives go to DIR/downloads, videos to "
                                                        "DIR/<name>.")] = Path("data"),
        classes: Annotated[str | None, typer.Option(help="Only these comma-separated classes, e.g. "
                                                         "WalkingWithDog,TaiChi; added to those already "
                                                         "in DIR/<name>.")] = None,
        preset: Annotated[str | None, typer.Option(help="'seed': UCF50 with the seed study's four classes "
                                                        "(WalkingWithDog, TaiChi, Swing, HorseRace).")] = None,
        base_url: Annotated[str | None, typer.Option(help="Mirror holding the same archive file names.",
                                                     envvar="HAR_DATASET_MIRROR")] = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    ) -> None:
        """Download, verify and unpack a public action dataset (resumes when interrupted).

        RAR archives need an extractor: sudo apt-get install unar (or libarchive-tools).
        Disk space while unpacking, archive included: UCF50 about 7 GB, UCF101 about 14 GB,
        HMDB51 about 6.5 GB (the archives stay in DIR/downloads; delete them afterwards if short
        of space). Concurrent runs wait for each other (lock files).

        Examples:
          har data download --preset seed --dir data
          har data download ucf101 --dir data
        """
        from har.train.datasets import DATASETS, download_dataset
        from har.train.presets import PRESETS

        wanted = [c.strip() for c in classes.split(",") if c.strip()] if classes else None
        if preset is not None:
            if preset not in PRESETS:
                raise TrainError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
            preset_name, preset_classes = PRESETS[preset].dataset, PRESETS[preset].classes
            if name is not None and name.lower() != preset_name:
                raise TrainError(f"--preset {preset} is {preset_name}; drop the dataset name or the preset")
            name, wanted = preset_name, wanted or preset_classes
        if name is None:
            raise TrainError(f"name a dataset ({', '.join(DATASETS)}) or use --preset seed")
        try:
            res = download_dataset(name, dir, wanted, base_url, progress=False if quiet else None)
        except OSError as e:  # a full disk, a lost connection (DatasetDownloadError is a HarError)
            raise TrainError(str(e)) from None
        spec = DATASETS.get(name.lower())
        how = "already there" if res.reused else "ready"
        typer.echo(f"{res.path}: {res.videos} videos in {len(res.classes)} classes ({how})")
        if res.split_files:
            typer.echo(f"official splits: {res.path / 'splits'} ({', '.join(p.name for p in res.split_files)})")
        elif spec is not None and spec.protocol:
            typer.echo(f"no official split files: {spec.protocol}")
        if preset is not None:
            typer.echo(f"next: har train --preset {preset} --data {res.path}")
        else:
            cls = f" --classes {','.join(res.classes)}" if wanted else ""
            typer.echo(f"next: har train --model all --data {res.path}{cls}")
