"""``python -m har.cli.embed BUNDLE``: give an existing bundle's head its embedding output (``make default-embed``).

The rewrite is export's (:func:`har.export.embed.add_embedding`); a pose
bundle's base references come from generated people of *training* actors (generator seed
0, the first 12), never the ones evaluations use, and the generator is
training code: this entry point is where the two meet.
"""

from __future__ import annotations

import argparse

import numpy as np

from har.edge.bundle import MODEL_FILES
from har.export.embed import add_embedding

CALIBRATION_ACTORS = range(0, 12)
CALIBRATION_SEED = 0  # `make motion` generates the default model's training people with seed 0


def calibration_features(labels: list[str], seq_len: int, interval_s: float) -> np.ndarray:
    """Features of generated windows of training actors, for the base references."""
    from har.train.motion.windows import generated_windows, window_features

    w = generated_windows(labels, CALIBRATION_ACTORS, CALIBRATION_SEED, seq_len, interval_s)
    return window_features(w)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    args = ap.parse_args(argv)
    path = add_embedding(args.bundle, calibration_features)
    print(f"wrote {path / MODEL_FILES['head']} (with its embedding output)")


if __name__ == "__main__":
    main()
