"""Peak memory: the peak RSS of a fresh process that loads one variant and runs the pipeline."""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable
from pathlib import Path

from har.edge.bench.pipeline import pipeline_pass
from har.edge.bench.plan import Variant, one_line
from har.edge.bundle import load_bundle
from har.edge.interpreter import backend_name
from har.edge.pipeline import Classifier

#: Windows the memory child runs: enough to reach the peak, not to time anything.
MEMORY_WINDOWS = 3


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, in MiB.

    ``VmHWM`` from /proc, not ``ru_maxrss``: Linux carries the parent's peak
    into a child across fork and exec, so a child started by a 1 GB parent
    would report at least 1 GB. ``ru_maxrss`` (KiB on Linux, bytes on macOS)
    is the fallback where there is no /proc.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(r / (2**20 if sys.platform == "darwin" else 2**10), 1)


def peak_memory(bundle, make_classifier: Callable[[], object], video: str | Path) -> dict:
    """Peak RSS after loading ``make_classifier()`` and running the pipeline over ``video``.

    Meaningful only in a fresh process that has run nothing else; the peak
    before loading (imports and runtime only) comes back as the baseline.
    """
    baseline = peak_rss_mib()
    pipeline_pass(bundle, make_classifier(), video, MEMORY_WINDOWS)
    return {"peak_rss_mib": peak_rss_mib(), "baseline_rss_mib": baseline}


def _memory_here(variant: Variant, threads: int, video: str) -> dict:
    backend_name()  # import the runtime before the baseline is taken
    try:  # a bundle this runtime refuses is reported in the row, like the timing child does
        bundle = load_bundle(variant.bundle)
        return peak_memory(bundle, lambda: Classifier(bundle, threads, None,
                                                      "on" if variant.mode == "streaming" else "off"), video)
    except Exception as e:
        return {"error": one_line(e)}
