"""What every export checks before it converts anything: an exportable model folder, a known quantization."""

from __future__ import annotations

from pathlib import Path

from har.edge.bundle import QUANT_MODES
from har.export.errors import ExportError
from har.models.folder import ModelFolder, ModelFolderError, read_model_folder
from har.models.registry import get_entry, list_models


def load_model_dir(path: str | Path) -> ModelFolder:
    """The model folder at ``path`` if its family exports; :class:`ExportError` otherwise."""
    try:
        md = read_model_folder(path)
        entry = get_entry(md.family)
    except ModelFolderError as e:
        raise ExportError(str(e)) from None
    except KeyError:
        entry = None
    if entry is None or not entry.exportable:
        known = [n for n in list_models() if get_entry(n).exportable]
        raise ExportError(f"{md.path} holds a {md.family!r} model, which has no TFLite export (known: "
                          f"{', '.join(known)})")
    return md


def check_quant(quant: str) -> str:
    if quant not in QUANT_MODES:
        import difflib

        close = difflib.get_close_matches(quant, QUANT_MODES, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ExportError(f"unknown quantization {quant!r}: choose one of {', '.join(QUANT_MODES)}{hint}")
    return quant
