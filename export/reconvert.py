"""Convert a pose bundle's head anew from the float weights beside it, in place (``python -m har.cli.embed --quant``).

Why: the default model ships without its model folder, only its head's
float Keras weights (``head.weights.npz``, :mod:`har.train.pose_init`). To
change how its head is quantized (the int8 head ran ~4x slower than the fp32
one: LiteRT's integer LSTM kernel) the head is rebuilt from those weights and
converted by the same worker ``har export`` uses (:mod:`har.export.worker`),
which also gives it the ``embedding`` output. The base references
(``metadata.json`` ``embedding``) are recomputed with the new head from
calibration windows of *training* people, as :mod:`har.export.embed` does.
int8 is refused: it needs calibration features of the model's training split,
which only ``har export`` has. Enrolment files made before are bound to the old
metadata and are refused; enrol again.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, load_bundle, model_entry, write_metadata
from har.edge.interpreter import TfliteModel
from har.export.bundle import check_builtin_only, section_for
from har.export.embed import _write
from har.export.errors import ExportError
from har.export.worker import run_worker

WEIGHTS_FILE = "head.weights.npz"  # har.train.pose_init.WEIGHTS_FILE (export never imports training code)


def reconvert_head(bundle_dir: str | Path, quant: str,
                   calibration_features: Callable[[list[str], int, float], np.ndarray]) -> Path:
    """Replace ``bundle_dir``'s ``head.tflite`` with a ``quant`` conversion of its ``head.weights.npz``."""
    if quant == "int8":
        raise ExportError("--quant int8 needs calibration features of the model's training split; re-export the "
                          "model folder with `har export --quant int8` instead")
    bundle = load_bundle(bundle_dir)
    weights = bundle.path / WEIGHTS_FILE
    if not bundle.is_pose or not weights.is_file():
        raise ExportError(f"{bundle.path} is not a pose bundle with its head's float weights ({WEIGHTS_FILE}); "
                          "re-export its model folder with `har export` instead")
    work = Path(tempfile.mkdtemp(prefix="har-reconvert-"))
    try:
        new = work / f"head-{quant}.tflite"
        spec = {"weights": str(weights), "family": bundle.metadata["source"]["model"],
                "num_classes": len(bundle.labels), "seq_len": bundle.seq_len, "size": None,
                "feature_dim": bundle.metadata["pose"]["feature_dim"],
                "targets": [{"graph": "head", "quant": quant, "path": str(new)}]}
        events = run_worker(spec, work)
        versions = next(({"tensorflow": e["tensorflow"], "keras": e["keras"]} for e in events
                         if e["event"] == "loaded"), {})
        head = bundle.path / MODEL_FILES["head"]
        old = head.read_bytes()
        _write(head, new.read_bytes())
        try:
            model = TfliteModel(head)
            meta = json.loads(json.dumps(bundle.metadata))
            meta["models"]["head"] = model_entry(head, model.input, model.output, check_builtin_only(head), quant,
                                                 embedding=model.embedding_output)
            meta["quantization"] = quant
            meta["source"]["weights"] = WEIGHTS_FILE
            meta.update(exported_at=datetime.now(UTC).isoformat(timespec="seconds"), converter=versions,
                        calibration=None)
            feats = calibration_features(bundle.labels, bundle.seq_len, bundle.interval_s or 0.1)
            meta["embedding"] = section_for(head, feats, bundle.labels)
            write_metadata(bundle.path, meta)
            _mark_report(bundle.path, quant)
        except BaseException:
            _write(head, old)  # the bundle stays as it was
            raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bundle.path


def _mark_report(bundle_dir: Path, quant: str) -> None:
    """Say in the export report (if any) which of its head variants the bundle now holds, and how it was made.

    The report stays the one its export wrote (its format may be an older one), so only its
    quantization and its closing note change, in the JSON and in the Markdown alike.
    """
    path, md = bundle_dir / "report.json", bundle_dir / "report.md"
    if not path.is_file():
        return
    rep = json.loads(path.read_text())
    old_note = rep.get("note", "")
    rep["bundle_quantization"] = quant
    rep["note"] = (old_note.split("; the bundle's head")[0] + f"; the bundle's head is a later {quant} conversion "
                   f"of {WEIGHTS_FILE} (the float16-stored weights), scored in motion_score.json").lstrip("; ")
    path.write_text(json.dumps(rep, indent=2) + "\n")
    if md.is_file():
        lines = md.read_text().rstrip("\n").split("\n")
        if old_note and lines[-1].startswith(old_note.split(";")[0]):
            lines.pop()  # the previous closing note
        text = re.sub(r"Bundle quantization \*\*\w+\*\*", f"Bundle quantization **{quant}**", "\n".join(lines).rstrip("\n"))
        md.write_text(f"{text}\n\n{rep['note']}.\n")
