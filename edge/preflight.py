"""Checks ``har-edge run`` makes before it opens a camera, a model or a broker.

Why up front: an annotated video is only opened at the first frame, so an
unwritable ``--output`` used to fail after the camera and the models were
set up; and an output that is the ``--source`` file itself would overwrite
the video while it is being read. Both are refused here, in one sentence.
"""

from __future__ import annotations

import os
from pathlib import Path

from har.edge.config import ConfigError, EdgeConfig


def check_outputs(cfg: EdgeConfig) -> None:
    """Every output file can be written, and none is the input or another output."""
    outputs = {"--output": cfg.sinks.output, "--jsonl": cfg.sinks.jsonl}
    seen: dict[str, str] = {}
    source = _local(cfg.source.source)
    for flag, value in outputs.items():
        if not value:
            continue
        path = Path(value).expanduser()
        if source is not None and _same(path, source):
            raise ConfigError(f"{flag} {value} is the --source video itself; writing it would destroy the input "
                              "while it is read, so name another file")
        key = os.path.realpath(path)
        if key in seen:
            raise ConfigError(f"{flag} and {seen[key]} are the same file {value}; give each its own")
        seen[key] = flag
        _check_writable(path, flag)


def _local(source: str | None) -> Path | None:
    if not source or ("://" in source and not source.startswith("file://")):
        return None
    return Path(source.removeprefix("file://")).expanduser()


def _same(a: Path, b: Path) -> bool:
    try:
        return a.exists() and b.exists() and os.path.samefile(a, b)  # also a hard link or another spelling
    except OSError:
        return False


def _check_writable(path: Path, flag: str) -> None:
    if path.is_dir():
        raise ConfigError(f"{flag} {path} is a folder; name a file in it")
    folder = next((p for p in path.absolute().parents if p.exists()), Path("/"))
    if not folder.is_dir():
        raise ConfigError(f"{flag} {path} cannot be written: {folder} is a file, not a folder")
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK | (0 if target is path else os.X_OK)):
        raise ConfigError(f"{flag} {path} cannot be written: no write permission on {target}")
