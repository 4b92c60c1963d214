"""A bundle folder from converted graphs: checked ops, tensor specs, hashes, provenance, swapped in whole.

Everything here reads the converted files with the device's own LiteRT
interpreter, so a bundle that passes :func:`staged_bundle` loads on the
device (``har.edge.bundle.load_bundle`` checks it before it is swapped in).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from har.edge.bundle import MODEL_FILES, BundleError, build_metadata, load_bundle, model_entry, write_metadata
from har.edge.interpreter import TfliteModel, graph_ops
from har.export.errors import ExportError
from har.export.worker import Conversion, graph_quant
from har.models.folder import ModelFolder

log = logging.getLogger(__name__)
FLOAT_DTYPES = ("float32", "float16")


def section_for(head_file: Path, features: np.ndarray, labels: list[str]) -> dict:
    """``metadata.json``'s ``embedding`` section (base references, har.edge.enroll.references) from calibration.

    Probabilities and embeddings both come from the head's one invocation per window (its two outputs).
    """
    from har.edge.enroll.references import embedding_section

    head = TfliteModel(head_file)
    probs, embs = zip(*((head.run(x), head.embedding()) for x in features), strict=True)
    return embedding_section(np.stack(probs), np.stack(embs), labels)


def float_ops(path: Path) -> list[str]:
    """Ops of a quantized model that still compute in float (any float input or output tensor)."""
    return [op.name for op in graph_ops(path)
            if op.name not in ("QUANTIZE", "DEQUANTIZE")
            and any(d in FLOAT_DTYPES for d in op.input_dtypes + op.output_dtypes)]


#: Resource-variable ops: a graph that still reads weights from variables fails or keeps state in LiteRT.
VARIABLE_OPS = frozenset({"VAR_HANDLE", "READ_VARIABLE", "ASSIGN_VARIABLE", "CALL_ONCE"})


def check_builtin_only(path: Path) -> list[str]:
    """The model's ops; :class:`ExportError` if any is Flex, custom or a resource variable."""
    ops = [op.name for op in graph_ops(path)]
    foreign = sorted({op for op in ops if op.startswith("Flex") or op in ("CUSTOM", "DELEGATE")})
    if foreign:
        raise ExportError(f"{path.name} needs ops that LiteRT cannot run without TensorFlow: {', '.join(foreign)}")
    variables = sorted(VARIABLE_OPS.intersection(ops))
    if variables:
        raise ExportError(f"{path.name} still holds resource variables ({', '.join(variables)}) instead of "
                          "frozen weights; the export graph must not read variables at run time")
    return ops


def check_out_dir(out_dir: str | Path) -> Path:
    """``out_dir`` if a bundle may be written there: absent, empty or an old bundle (which is replaced)."""
    out_dir = Path(out_dir)
    if out_dir.exists() and (not out_dir.is_dir() or (any(out_dir.iterdir())
                                                       and not (out_dir / "metadata.json").is_file())):
        raise ExportError(f"refusing to write the bundle into {out_dir}: it is not empty and not a bundle")
    return out_dir


def pixel_embedding_section(md: ModelFolder, files: dict[str, Path], clips: np.ndarray) -> dict | None:
    """The ``embedding`` section (har.edge.enroll.references) of an LRCN bundle, from its calibration clips."""
    if "head" not in files:
        return None
    encoder = TfliteModel(files["encoder"], normalization=md.normalization)
    feats = np.stack([np.stack([encoder.run(f) for f in clip]) for clip in clips])
    return section_for(files["head"], feats, md.labels)


def assemble_bundle(md: ModelFolder, out_dir: Path, quant: str, files: dict[str, Path], conv: Conversion,
                    embedding: dict | None = None) -> Path:
    """Copy ``files`` (graph name -> .tflite) into ``out_dir`` with their metadata; replaces an old bundle."""
    with staged_bundle(out_dir) as stage:
        entries = {}
        for graph, src in files.items():
            dst = stage / MODEL_FILES[graph]
            shutil.copyfile(src, dst)
            ops = check_builtin_only(dst)
            model = TfliteModel(dst)
            entries[graph] = model_entry(dst, model.input, model.output, ops, graph_quant(graph, quant),
                                         embedding=model.embedding_output)
            if graph_quant(graph, quant) == "int8" and (left := float_ops(dst)):
                log.warning("%s: ops left in float by the converter: %s", MODEL_FILES[graph], ", ".join(left))
        sampling = md.sampling
        meta = build_metadata(
            labels=md.labels, seq_len=md.seq_len, frame_size=md.size,
            sampling_mode=sampling.mode, interval_s=sampling.interval_s,
            normalization=md.normalization, quantization=quant, models=entries, **provenance(md, conv, quant),
        )
        if embedding:
            meta["embedding"] = embedding
        write_metadata(stage, meta)
    return Path(out_dir)


def provenance(md: ModelFolder, conv: Conversion, quant: str) -> dict:
    """The ``source`` and ``extra`` metadata of a bundle: which model, its held-out scores, how it was converted."""
    metrics = {k: md.metrics[k] for k in ("test_accuracy", "macro_f1") if k in md.metrics}
    return {"source": {"model": md.family, "model_dir": str(md.path), "test_metrics": metrics,
                       "split_sizes": md.metrics.get("split_sizes")},
            "extra": {"converter": conv.versions, "calibration": conv.calibration if quant == "int8" else None}}


@contextmanager
def staged_bundle(out_dir: str | Path) -> Iterator[Path]:
    """A private folder beside ``out_dir`` to build a bundle in, swapped into place once the block succeeds.

    A half-written bundle is never seen: on any error the folder is removed
    and an old bundle in ``out_dir`` stays as it was; a bundle that fails
    validation is an :class:`ExportError`.
    """
    out_dir = check_out_dir(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}-", dir=out_dir.parent))
    stage.chmod(0o755)  # mkdtemp makes it private; the bundle is meant to be copied to devices
    try:
        yield stage
        if out_dir.exists():
            old = out_dir.with_name(f".{out_dir.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            out_dir.rename(old)
            stage.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            stage.rename(out_dir)
    except BundleError as e:
        raise ExportError(f"the exported bundle failed validation: {e}") from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    load_bundle(out_dir)
