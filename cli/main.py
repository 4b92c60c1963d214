"""``har``: the training app (data, train, predict, ...) with export's ``export`` and ``bench`` mounted on it.

Any :class:`~har.edge.errors.HarError` a command raises is printed as
``error: ...`` with exit code 2 by the app's group
(:class:`har.train.extras.TrainGroup`, a :class:`har.edge.clierrors.HarGroup`).
"""

from __future__ import annotations

import sys

from har.edge.cliutil import hoist_verbose
from har.export.bench_cli import register as register_bench
from har.export.cli import register as register_export
from har.train.cli import app


def motion_accuracy(bundle, landmark_every: int, actors: int, noise: float = 1.0) -> float:
    """A pose bundle's accuracy on generated people (``har eval-motion``), for ``har bench --pose-path``;
    ``noise`` scales the landmark noise to another landmark model's measured jitter."""
    from har.train.motion.score import score_bundle

    return score_bundle(bundle, actors=actors, landmark_every=landmark_every, noise=noise)["accuracy"]


register_export(app)
register_bench(app, motion_accuracy)


def main() -> None:
    try:
        app(args=hoist_verbose(sys.argv[1:]), prog_name="har")
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
