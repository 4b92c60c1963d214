"""Time an LRCN training step with Keras' ``TimeDistributed`` against the folded one, side by side.

Keras 3 runs a ``TimeDistributed`` layer once per time step when the time
axis is static; the LRCN's training graph folds the frames into the batch
instead (:class:`har.models.keras_layers.FoldedTimeDistributed`). This script
builds both graphs with the same weights, checks they predict the same, then
times ``train_on_batch`` on the same random clips in alternating rounds and
prints the median wall and CPU time per clip of each and their ratio
(docs/training.md, "The LRCN's training graph").

Example (nice it, the machine is shared)::

    nice -n 10 .venv/bin/python tools/time_distributed_bench.py --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time


def _build(wrapper, num_classes: int):
    import keras

    from har.models.lrcn import build_lrcn

    model = build_lrcn(num_classes, time_distributed=wrapper)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy")
    return model


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=4, help="clips a step (the LRCN trains at 4)")
    ap.add_argument("--steps", type=int, default=8, help="training steps a round")
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)

    import keras
    import numpy as np

    from har.models.keras_layers import FoldedTimeDistributed

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = args.batch * args.steps
    x = rng.uniform(-1, 1, (n, 20, 64, 64, 3)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, n)]
    models = {"TimeDistributed": _build(keras.layers.TimeDistributed, 7),
              "folded": _build(FoldedTimeDistributed, 7)}
    models["folded"].set_weights(models["TimeDistributed"].get_weights())
    diff = float(np.abs(models["folded"].predict(x[:8], verbose=0)
                        - models["TimeDistributed"].predict(x[:8], verbose=0)).max())
    times = {name: {"wall": [], "cpu": []} for name in models}
    for model in models.values():  # warm-up: tracing is not the step
        model.train_on_batch(x[:args.batch], y[:args.batch])
    for _ in range(args.rounds):
        for name, model in models.items():
            w0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, n, args.batch):
                model.train_on_batch(x[i:i + args.batch], y[i:i + args.batch])
            times[name]["wall"].append(1000 * (time.perf_counter() - w0) / n)
            times[name]["cpu"].append(1000 * (time.process_time() - c0) / n)
    result = {"batch": args.batch, "rounds": args.rounds, "max_prob_diff": diff}
    for name, t in times.items():
        result[name] = {k: round(statistics.median(v), 1) for k, v in t.items()}
        print(f"{name:>16}: {result[name]['wall']:6.1f} ms wall, {result[name]['cpu']:6.1f} ms CPU per clip")
    ratio = result["TimeDistributed"]["wall"] / result["folded"]["wall"]
    result["speedup_wall"] = round(ratio, 2)
    print(f"folded is {ratio:.1f}x faster a training step (median of {args.rounds} rounds); "
          f"predictions differ by at most {diff:.1e}")
    return result


if __name__ == "__main__":
    main()
