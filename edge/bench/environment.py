"""The machine, the libraries and the date: a benchmark number means nothing without them."""

from __future__ import annotations

import os
import platform
import sys
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import cv2
import numpy as np

from har.edge.interpreter import backend_name


def environment() -> dict:
    """The machine, the libraries and the date: a benchmark number means nothing without them."""
    def dist(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "cpu": cpu_name(),
            "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
            "cpus": os.cpu_count(), "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
            else os.cpu_count(), "system": f"{platform.system()} {platform.release()}",
            "machine": platform.machine(), "python": platform.python_version(), "executable": sys.executable,
            "runtime": backend_name(), "numpy": np.__version__, "opencv": cv2.__version__,
            "har_edge": dist("har-edge"),
            "delegate": "none requested: the runtime's default CPU delegate (XNNPACK) is on"}


def cpu_name() -> str:
    """The CPU model ('model name' on x86, the board 'Model' on a Raspberry Pi)."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        info = ""
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return fields.get("model name") or fields.get("Model") or platform.processor() or platform.machine()
