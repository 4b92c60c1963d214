"""``har-edge info``: a bundle in words, with the ops each delegate takes."""

from __future__ import annotations

from pathlib import Path

from har.edge.bundle.load import load_bundle
from har.edge.bundle.schema import EDGETPU_SUFFIX, POSE_CACHE, POSE_MODELS, SCHEMA, Bundle
from har.edge.interpreter import DELEGATE_LIBS, TfliteModel, backend_name, load_delegate
from har.edge.litert import EMBEDDING_OUTPUT, tensor_text


def describe(bundle: Bundle | str | Path, threads: int = 1, delegate: str | None = None) -> str:
    """Human-readable summary for ``har-edge info``: metadata, verified hashes, ops and delegate.

    Loads each model with the interpreter the device would use, so the text
    also says which ops the delegate takes (XNNPACK by default on CPU) and
    which stay on the reference kernels: that split is what decides speed.
    """
    b = bundle if isinstance(bundle, Bundle) else load_bundle(bundle)
    m = b.metadata
    src = m.get("source") or {}
    lines = [
        f"bundle     {b.path} (schema {SCHEMA} v{b.schema_version}, har {m.get('har_version')}, "
        f"exported {m.get('exported_at')})",
        f"source     {src.get('model', '?')} model, test accuracy {_fmt(b.source_metrics.get('test_accuracy'))}, "
        f"macro-F1 {_fmt(b.source_metrics.get('macro_f1'))}",
        f"labels     {len(b.labels)}: {', '.join(b.labels)}",
        f"encoder    {_encoder_text(b)}",
        (f"input      {b.seq_len} frames of {b.frame_size}x{b.frame_size} {b.color_order}, {b.normalization}, "
         if not b.is_pose else f"input      {b.seq_len} frames, full size {b.color_order} to the pose estimator, ")
        + (f"one every {b.interval_s:g} s" if b.sampling_mode == "interval" else "uniform over the clip"),
        f"quantized  {b.quantization}; streaming encoder/head: {'yes' if b.has_streaming else 'no'}",
        f"runtime    {backend_name()}, {threads} thread(s), delegate: "
        + (f"{delegate} ({DELEGATE_LIBS.get(delegate, '?')})" if delegate else "the runtime's default CPU delegate (XNNPACK)"),
        "models     (sha256 verified; tensors read from the model files match the metadata)",
    ]
    if delegate:
        load_delegate(delegate)  # fail here, with its one-sentence error, if the library is missing
    compiled = [n for n in b.models if n.endswith(EDGETPU_SUFFIX)]
    if delegate == "edgetpu" and not compiled:
        lines.append("           (no Edge TPU-compiled model in this bundle, so all run on the CPU: see docs/edgetpu.md)")
    for name in (n for n in b.models if not n.endswith(EDGETPU_SUFFIX)):
        on_tpu = delegate == "edgetpu" and name + EDGETPU_SUFFIX in b.models
        info = b.models[name + EDGETPU_SUFFIX if on_tpu else name]
        lines.append(f"  {name:<14} {info.file:<22} {info.bytes / 1024:7.1f} KiB  "
                     f"in {tensor_text(info.input)} -> out {tensor_text(info.output)}"
                     + (f" + {EMBEDDING_OUTPUT} {tensor_text(info.embedding)}" if info.embedding else "")
                     + ("  (from the pose cache)" if info.source == POSE_CACHE else ""))
        if name in POSE_MODELS[1:]:  # several outputs: run by har.edge.pose, not TfliteModel
            lines.append(f"           ops: {_counts(info.ops)}")
            continue
        model = TfliteModel(b.path / info.file, threads=threads, delegate=delegate if on_tpu else None)
        lines.append(f"           ops: {_counts(model.ops())}")
        cpu = model.undelegated_ops()
        if model.delegated:
            lines.append("           the delegate runs every op" if not cpu else
                         f"           outside the delegate (the runtime's own CPU kernels): {_counts(cpu)}")
        else:
            lines.append("           no delegate took any op: all run on the runtime's own CPU kernels")
    return "\n".join(lines)


def _encoder_text(b: Bundle) -> str:
    if b.is_pose:
        where = (f"the pose models come from the verified pose cache {b.pose_cache}"
                 if b.pose_models_source == POSE_CACHE else "the pose models are in the bundle")
        return (f"pose: BlazePose keypoints -> {b.feature_dim} features per frame -> head "
                f"(person-invariant; {where}; no label where fewer than {b.min_found_fraction:.0%} of a "
                "window's frames have a pose)")
    return "cnn: pixels (the frame itself)"


def _fmt(x) -> str:
    return f"{x:.3f}" if isinstance(x, int | float) else "n/a"


def _counts(ops: list[str]) -> str:
    counts: dict[str, int] = {}
    for op in ops:
        counts[op] = counts.get(op, 0) + 1
    return ", ".join(f"{op} x{n}" if n > 1 else op for op, n in counts.items())
