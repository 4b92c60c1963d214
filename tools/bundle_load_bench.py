"""How long ``load_bundle`` takes for the default model, with and without running the pinned pose models on zeros.

Both ways run interleaved in one process on the same files (the pose cache
of this machine), so the machine's load falls on both alike; the pose models'
run is switched on by emptying the set of pinned hashes that load skips.

    python tools/bundle_load_bench.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from datetime import UTC, datetime

from har.edge.bundle import load_bundle
from har.edge.default_model import default_bundle_path
from har.edge.litert import backend_name, model_tensors
from har.edge.pose import lite


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    path = default_bundle_path()
    pinned = lite.PINNED_SHA256
    load_bundle(path)  # warm: imports, file cache
    times: dict[str, list[float]] = {"every model run on zeros": [], "pinned pose models not run": []}
    for _ in range(args.rounds):
        for name, skip in (("every model run on zeros", frozenset()), ("pinned pose models not run", pinned)):
            lite.PINNED_SHA256 = skip
            t0 = time.perf_counter()
            load_bundle(path)
            times[name].append((time.perf_counter() - t0) * 1e3)
    lite.PINNED_SHA256 = pinned
    bundle = load_bundle(path)
    per_model: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for name in ("pose_detector", "pose_landmarks"):
            for invoke in (True, False):
                t0 = time.perf_counter()
                model_tensors(bundle.model_file(name), invoke=invoke)
                per_model.setdefault(f"{name} {'run' if invoke else 'not run'}", []).append(
                    (time.perf_counter() - t0) * 1e3)
    times |= {f"  model_tensors({k})": v for k, v in per_model.items()}
    print(f"load_bundle(default model), {args.rounds} interleaved rounds, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.machine()}, {backend_name()}")
    for name, ms in times.items():
        print(f"  {name:44s} median {statistics.median(ms):7.1f} ms  (min {min(ms):.1f}, max {max(ms):.1f})")


if __name__ == "__main__":
    main()
