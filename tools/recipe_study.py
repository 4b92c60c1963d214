"""Train one model on one holdout split and print one JSON line: the training-recipe study of docs/training.md.

``har train`` draws the split, the initial weights, the dropout masks and the
augmentation from one seed. To tell which of them moves the held-out accuracy,
this script takes the split seed and the training seed apart and pins the
TensorFlow thread count (intra- and inter-op), then reports held-out accuracy,
epochs, the best validation epoch and the process's CPU and wall time.

Example (one run; nice it, the machine is shared):
    nice -n 10 .venv/bin/python tools/recipe_study.py --model convlstm --config configs/synth.toml \\
        --split-seed 27 --seed 1 --threads 2 --set epochs=40 --json runs.jsonl
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path


def _value(text: str):
    try:
        return json.loads(text)
    except ValueError:
        return text


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="convlstm")
    ap.add_argument("--data", default="data/synth")
    ap.add_argument("--config", default="configs/synth.toml")
    ap.add_argument("--split-seed", type=int, default=27, help="seed of the group-disjoint holdout split")
    ap.add_argument("--seed", type=int, default=27, help="seed of weights, dropout, shuffling and augmentation")
    ap.add_argument("--threads", type=int, default=0, help="TF intra- and inter-op threads (0: TF's default)")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a [train] option (JSON value)")
    ap.add_argument("--json", type=Path, default=None, help="append the result line to this file")
    args = ap.parse_args(argv)

    import tensorflow as tf

    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import keras
    import numpy as np

    from har.train.config import load_config
    from har.train.dataset import list_videos
    from har.train.fit import _train_fold, evaluate_probs
    from har.train.protocols import make_folds

    overrides = {"model": args.model, "data": args.data, "cache_dir": args.cache_dir, "seed": args.seed}
    changed = {k: _value(v) for k, v in (s.split("=", 1) for s in args.set)}
    overrides.update(changed)
    cfg = load_config(args.config, overrides)
    videos, labels = list_videos(Path(cfg.data), cfg.classes)
    fold = make_folds(videos, "holdout", cfg.val_fraction, cfg.test_fraction, args.split_seed, Path(cfg.data))[0]
    keras.utils.set_random_seed(args.seed)
    t0 = time.time()
    run = _train_fold(cfg, fold, labels, "memory", None)
    m = evaluate_probs(run.probs, run.splits.test[1], labels)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    val_loss = run.history.get("val_loss", run.history["loss"])
    out = {"model": args.model, "split_seed": args.split_seed, "seed": args.seed, "threads": args.threads,
           "set": changed, "test_accuracy": round(m["accuracy"], 4),
           "test_clips": int(len(run.splits.test[1])), "epochs_run": len(run.history["loss"]),
           "best_epoch": int(np.argmin(val_loss)) + 1,
           "best_val_accuracy": round(float(run.history.get("val_accuracy", [np.nan])[int(np.argmin(val_loss))]), 4),
           "fit_seconds": round(run.seconds, 1), "wall_seconds": round(time.time() - t0, 1),
           "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 1),
           "val_accuracy": [round(float(v), 3) for v in run.history.get("val_accuracy", [])],
           "loss": [float(v) for v in run.history["loss"]], "val_loss": [float(v) for v in val_loss],
           "labels": labels, "confusion": m["confusion"]}
    line = json.dumps(out)
    print(line)
    if args.json:
        with args.json.open("a") as f:
            f.write(line + "\n")
    return out


if __name__ == "__main__":
    main()
