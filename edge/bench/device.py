"""``har-edge bench BUNDLE``: the bundle's variants measured on this machine, accuracy from its export report."""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path

from har.edge.bench.child import memory_in_child
from har.edge.bench.measure import measure
from har.edge.bench.plan import Variant
from har.edge.bench.rows import device_row
from har.edge.bench.video import write_test_video
from har.edge.bundle import load_bundle

log = logging.getLogger(__name__)


def bench_bundle(bundle_dir: str | Path, threads: tuple[int, ...] = (1, 2), video: str | Path | None = None,
                 **timing) -> dict:
    """Benchmark a bundle's models on this machine (whole window, and streaming if it has the pair).

    Accuracy cannot be measured here (no test split on the device): it is
    taken from the ``report.json`` that ``har export`` leaves in the bundle,
    when there is one.
    """
    bundle = load_bundle(bundle_dir)
    q = bundle.quantization
    variants = [Variant(q, str(bundle.path), "streaming" if bundle.is_pose else "window")]
    if bundle.has_streaming:
        variants.append(Variant(f"streaming-{q}", str(bundle.path), "streaming"))
    with tempfile.TemporaryDirectory(prefix="har-bench-") as tmp:
        work = Path(tmp)
        video = Path(video) if video else write_test_video(work / "video-640x480.mp4")
        measured = measure(variants, threads, video, **timing)
        memory = {v.name: memory_in_child(sys.executable, v, max(threads), video, work) for v in variants}
    accuracy = report_accuracy(bundle.path)
    model = str((bundle.metadata.get("source") or {}).get("model") or "bundle")
    rows = [device_row(model, v.name, measured["variants"][v.name], memory[v.name], measured["environment"]["runtime"],
                       **accuracy.get(v.name, {})) for v in variants]
    return {"environment": measured["environment"], "decode_fps": measured["decode_fps"],
            "method": measured["method"], "threads": list(threads), "rows": rows}


def report_accuracy(bundle_dir: Path) -> dict[str, dict]:
    """Test accuracy per variant from the bundle's ``report.json`` (``har export``), if there is one."""
    path = bundle_dir / "report.json"
    if not path.is_file():
        return {}
    try:
        variants = json.loads(path.read_text()).get("variants") or []
    except (json.JSONDecodeError, AttributeError):
        log.warning("%s is not a readable export report; accuracy left out", path)
        return {}
    return {r["name"]: {"test_accuracy": r.get("test_accuracy"), "macro_f1": r.get("macro_f1"),
                        "agreement_with_keras": r.get("agreement_with_keras"), "max_abs_diff": r.get("max_abs_diff"),
                        "agreement_with_window": r.get("agreement_with_window"),
                        "accuracy_source": "report.json of har export (held-out test split)"}
            for r in variants if isinstance(r, dict) and "name" in r}
