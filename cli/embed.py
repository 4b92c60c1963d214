"""``python -m har.cli.embed BUNDLE``: give an existing bundle's head its embedding output (``make default-embed``).

With ``--quant fp32`` a pose bundle's head is instead converted anew from
its float weights (``head.weights.npz``), with the embedding output
(:func:`har.export.reconvert.reconvert_head`; ``make default-fp32``).
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
    ap.add_argument("--quant", choices=("fp32", "fp16"),
                    help="convert the head anew from the bundle's head.weights.npz in this mode")
    args = ap.parse_args(argv)
    if args.quant:
        from har.export.reconvert import reconvert_head

        path = reconvert_head(args.bundle, args.quant, calibration_features)
        print(f"wrote {path / MODEL_FILES['head']} ({args.quant}, from its float weights, with its embedding output)")
        return
    path = add_embedding(args.bundle, calibration_features)
    print(f"wrote {path / MODEL_FILES['head']} (with its embedding output)")


if __name__ == "__main__":
    from har.edge.cliutil import echo_error
    from har.edge.errors import HarError

    try:
        main()
    except HarError as e:  # one sentence, as both CLIs give it
        echo_error(str(e))
        raise SystemExit(2) from None
