"""Run ``har-edge run`` on a file and keep what it decided from: landmarks per sampled frame, probabilities per window.

The events alone say *that* two machines decided differently, not *why*. So
``agree.py run`` calls the real command line (``har.edge.cli.main``, the
default model and configuration, nothing replaced) with three read-only taps
on the classes the pipeline is built from:

* ``IntervalSampler.accept``: the media time of each sampled frame;
* ``Classifier.item``: the landmarks the pose estimator found in it (pixels,
  NaN where nobody was found), from whichever landmark model the bundle runs;
* ``Smoother.update``: each window's class probabilities as the classifier
  gave them, and the moving average the smoother decided on, plus the
  smoother's thresholds.

The taps call the original methods and return what they return, so the
events written to ``--jsonl`` are those of an untapped run.

``builtin=True`` runs every model on LiteRT's builtin kernels instead of its
default XNNPACK delegate: two correct implementations of the same graphs on
one machine, whose difference is the yardstick for the one between machines.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np


def _without_xnnpack():
    """The runtime's Interpreter class, replaced by one that asks for the builtin kernels only; returns a restorer."""
    from har.edge.litert import _runtime

    module, _ = _runtime()
    original = module.Interpreter

    class Builtin(original):
        def __init__(self, *args, **kwargs):
            kwargs.setdefault("experimental_op_resolver_type", module.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
            super().__init__(*args, **kwargs)

    module.Interpreter = Builtin
    return lambda: setattr(module, "Interpreter", original)


def record_run(source: Path, jsonl: Path, out: Path, builtin: bool = False) -> None:
    from har.edge import cli
    from har.edge.default_model import load_default_bundle
    from har.edge.pipeline import Classifier
    from har.edge.pose.lite import choose_landmarks
    from har.edge.sampler import IntervalSampler
    from har.edge.smoother import Smoother

    frames_ts, landmarks, windows_ts, probs, averaged, smoother = [], [], [], [], [], {}
    last_ts = [float("nan")]
    accept, item, update = IntervalSampler.accept, Classifier.item, Smoother.update

    def tap_accept(self, ts):
        ok = accept(self, ts)
        if ok:
            last_ts[0] = float(ts)
        return ok

    def tap_item(self, frame_u8):
        out = item(self, frame_u8)
        pose = self.last_pose
        frames_ts.append(last_ts[0])
        landmarks.append(pose.xy_pixels() if pose is not None else np.full((33, 2), np.nan, np.float32))
        return out

    def tap_update(self, ts, p, stats=None):
        events = update(self, ts, p, stats)
        windows_ts.append(float(ts))
        probs.append(np.asarray(p, np.float64).reshape(-1))
        averaged.append(np.asarray(self._avg, np.float64))
        cfg = self.config
        smoother.update(labels=list(self.labels), enter_threshold=cfg.enter_threshold,
                        exit_threshold=cfg.exit_threshold, average_windows=cfg.average_windows,
                        min_duration_s=cfg.min_duration_s, background_labels=list(cfg.background_labels))
        return events

    IntervalSampler.accept, Classifier.item, Smoother.update = tap_accept, tap_item, tap_update
    restore = _without_xnnpack() if builtin else (lambda: None)
    argv = sys.argv
    sys.argv = ["har-edge", "run", "--source", str(source), "--jsonl", str(jsonl), "--no-console"]
    try:
        cli.main()
    except SystemExit as e:
        if e.code not in (0, None):
            raise
    finally:
        sys.argv = argv
        IntervalSampler.accept, Classifier.item, Smoother.update = accept, item, update
        restore()
    out.mkdir(parents=True, exist_ok=True)
    np.savez(out / "run.npz", frames_ts=np.array(frames_ts), landmarks=np.stack(landmarks),
             windows_ts=np.array(windows_ts), probs=np.stack(probs), averaged=np.stack(averaged))
    bundle = load_default_bundle()
    smoother.update(landmark_model=choose_landmarks(bundle)[1], seq_len=bundle.seq_len,
                    kernels="builtin" if builtin else "default (XNNPACK)")
    (out / "run.json").write_text(json.dumps(smoother, indent=2) + "\n")
    print(f"har-edge run: {len(frames_ts)} sampled frames, {len(windows_ts)} windows, "
          f"{smoother['landmark_model']} landmark model")
