"""Which interpreter backends and which rows: the tflite-runtime venv, the video, the variants to time."""

from __future__ import annotations

import subprocess
from pathlib import Path

from har.edge.bench import Variant, device_row, report_accuracy
from har.edge.bundle import load_bundle
from har.export.bench.families import STREAMING_QUANTS, WINDOW_QUANTS, Family, accuracy_fields
from har.export.bench.goals import window_agreement
from har.export.errors import ExportError

#: Where `make tflite-runtime-venv` puts the second backend (see docs/benchmark.md).
TFLITE_RUNTIME_VENV = Path(".venv-tflrt")
GENERATED_VIDEO = "video-640x480.mp4"  # written when no --video is given


def tflite_runtime_python(explicit: Path | None) -> tuple[Path | None, str | None]:
    """The Python of the tflite-runtime venv, or None and why it is skipped.

    An explicit path that does not exist is a user error; a missing default
    venv only skips that backend's rows.
    """
    path = explicit or TFLITE_RUNTIME_VENV / "bin" / "python"
    if not path.exists():
        if explicit:
            raise ExportError(f"--tflite-runtime-python {explicit} does not exist")
        return None, (f"no tflite-runtime venv at {TFLITE_RUNTIME_VENV} (create it with "
                      "`make tflite-runtime-venv`, see docs/benchmark.md)")
    probe = subprocess.run([str(path), "-c", "from har.edge.interpreter import backend_name; print(backend_name())"],
                           capture_output=True, text=True, timeout=120)
    runtime = probe.stdout.strip()
    if probe.returncode != 0:
        return None, f"{path} cannot import the edge runtime: {(probe.stderr.strip().splitlines() or ['?'])[-1]}"
    if not runtime.startswith("tflite-runtime"):
        return None, f"{path} runs {runtime}, not tflite-runtime (uninstall ai-edge-litert from that venv)"
    return path, None


def video_info(path: Path) -> dict:
    """Size, fps and length of the video the pipeline rows were timed on."""
    import cv2

    from har.edge.capture import open_video

    cap = open_video(path)
    try:
        w, h = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps, n = cap.get(cv2.CAP_PROP_FPS) or 0.0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    return {"file": path.name, "size": f"{w}x{h}", "fps": round(fps, 3), "seconds": round(n / fps, 2) if fps else None}


def variants_for(families: list[Family], bundles: list[Path] = ()) -> list[tuple[Variant, Family, str, str]]:
    """``(Variant, family, model label, variant label)`` for every TFLite row, in table order."""
    out = []
    for fam in families:
        for q in WINDOW_QUANTS:
            if q in fam.bundles:
                out.append((Variant(f"{fam.name}/{q}", str(fam.bundles[q]), "window", str(fam.test_clips)),
                            fam, fam.name, q))
        for q in STREAMING_QUANTS:
            if q in fam.bundles and load_bundle(fam.bundles[q]).has_streaming:
                out.append((Variant(f"{fam.name}/streaming-{q}", str(fam.bundles[q]), "streaming",
                                    str(fam.test_clips)), fam, fam.name, f"streaming-{q}"))
    for i, bundle in enumerate(bundles):
        out += _bundle_variants(load_bundle(bundle), families, f"bundle{i + 1 if len(bundles) > 1 else ''}")
    return out


def _bundle_variants(b, families: list[Family], key: str = "bundle") -> list[tuple[Variant, Family | None, str, str]]:
    """The deployed bundle's own files, scored on the test split of the model it was exported from."""
    if b.is_pose:  # its own test split is keypoint features: accuracy comes from the bundle's report.json
        return [(Variant(f"{key}/{b.quantization}", str(b.path), "streaming"), None, f"{key} (pose)",
                 b.quantization)]
    source = Path(str((b.metadata.get("source") or {}).get("model_dir") or ""))
    fam = next((f for f in families if f.origin.resolve() == source.resolve() and f.md.labels == b.labels), None)
    clips = str(fam.test_clips) if fam else None
    model = f"{key} ({fam.name if fam else b.path.name})"
    q = b.quantization
    out = [(Variant(f"{key}/{q}", str(b.path), "window", clips), fam, model, q)]
    if b.has_streaming:
        out.append((Variant(f"{key}/streaming-{q}", str(b.path), "streaming", clips), fam, model, f"streaming-{q}"))
    return out


def tflite_rows(families, variants, measured: dict, missing: dict[str, tuple[str, str]]) -> list[dict]:
    """One row per (variant, backend), measured, or marked skipped/error with the reason."""
    rows = []
    for fam in families:
        for q, why in fam.errors.items():
            rows.append(device_row(fam.name, q, None, None, "-", params=fam.params, status="error",
                                   error=f"did not export: {why}"))
    for v, fam, model, label in variants:
        for backend in ("ai-edge-litert", "tflite-runtime"):
            if backend not in measured:
                status, why = missing[backend]
                rows.append(device_row(model, label, None, None, backend, params=fam.params if fam else None,
                                       status=status, error=why))
                continue
            m, memory = measured[backend]
            result = m["variants"][v.name]
            if result["error"]:  # this runtime refused it: no accuracy either
                rows.append(device_row(model, label, result, None, m["environment"]["runtime"],
                                       params=fam.params if fam else None))
                continue
            accuracy = accuracy_fields(fam, result.get("probs")) or report_accuracy(Path(v.bundle)).get(label, {})
            if (agree := window_agreement(m["variants"], v.name)) is not None:
                accuracy = {**accuracy, "agreement_with_window": agree}
            rows.append(device_row(model, label, result, memory[v.name], m["environment"]["runtime"],
                                   params=fam.params if fam else None, **accuracy))
    return rows


def sorted_rows(rows: list[dict]) -> list[dict]:
    """By model (the deployed bundle last), then variant in table order; backends keep their order."""
    order = {name: i for i, name in enumerate(["keras", *WINDOW_QUANTS, *(f"streaming-{q}" for q in STREAMING_QUANTS)])}
    return sorted(rows, key=lambda r: (r["model"].startswith("bundle"), r["model"], order.get(r["variant"], 99)))
