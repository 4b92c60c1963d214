"""The Keras rows: one TensorFlow child per thread count (TensorFlow fixes its thread pools when it starts).

Child protocol: ``python -m har.export.bench SPEC.json OUT.json`` (:func:`main`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from har.edge.bench import BenchError, device_row
from har.edge.bundle import load_bundle
from har.export.bench.families import Family, accuracy_fields


class KerasClassifier:
    """The Keras model behind the pipeline's ``item``/``classify`` interface (whole windows, graph mode)."""

    def __init__(self, model, normalization: str):
        import tensorflow as tf

        from har.edge.preprocess import normalize

        self._normalize = lambda x: normalize(x, normalization)
        shape = (1, *model.input_shape[1:])
        self._fn = tf.function(lambda x: model(x, training=False),
                               input_signature=[tf.TensorSpec(shape, tf.float32)])

    def item(self, frame_u8: np.ndarray) -> np.ndarray:
        return frame_u8

    def classify(self, window: np.ndarray) -> np.ndarray:
        return self._fn(self._normalize(window)[None])[0].numpy()


def keras_child(spec: dict) -> dict:
    """Latency, pipeline throughput and peak memory of a Keras model in this (fresh) process."""
    threads = int(spec["threads"])
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    import keras

    from har.edge.bench import median_pass, peak_rss_mib, pipeline_pass, time_interleaved
    from har.edge.predict import windows_of_file
    from har.models.keras_layers import load_model

    baseline = peak_rss_mib()
    bundle = load_bundle(spec["bundle"])
    clf = KerasClassifier(load_model(Path(spec["model_dir"]) / "model.keras"),
                          spec["normalization"])
    clip = next(windows_of_file(spec["video"], bundle))
    timing = spec["timing"]
    latency = time_interleaved({"window": lambda: clf.classify(clip)}, timing["rounds"], timing["per_round"],
                               timing["warmup"])["window"]
    throughput = median_pass([pipeline_pass(bundle, clf, spec["video"]) for _ in range(timing["passes"])])
    return {"latency_ms": latency, "throughput": throughput, "peak_rss_mib": peak_rss_mib(),
            "baseline_rss_mib": baseline, "backend": f"TensorFlow {tf.__version__} (Keras {keras.__version__})"}


def run_keras(fam: Family, threads: tuple[int, ...], video: Path, work: Path, timing: dict) -> dict:
    """Keras row for ``fam``: one TensorFlow child per thread count; memory from the largest."""
    if not fam.bundles:
        return device_row(fam.name, "keras", None, None, "TensorFlow", status="error",
                          error="no TFLite variant exported, so no bundle to take the pipeline settings from")
    per_thread = {}
    for t in threads:
        spec = {"model_dir": str(fam.md.path), "bundle": str(next(iter(fam.bundles.values()))), "threads": t,
                "video": str(video), "normalization": fam.md.normalization, "timing": timing}
        path = work / f"keras-{fam.name}-{t}.json"
        path.write_text(json.dumps(spec))
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", ABSL_MIN_LOG_LEVEL="2")
        res = subprocess.run([sys.executable, "-m", "har.export.bench", str(path), str(path.with_suffix(".out"))],
                             capture_output=True, text=True, env=env, timeout=1800)
        if res.returncode != 0:
            last = (res.stderr.strip().splitlines() or ["?"])[-1]
            raise BenchError(f"the Keras benchmark child for {fam.origin} failed: {last}")
        per_thread[str(t)] = json.loads(path.with_suffix(".out").read_text())
    top = per_thread[str(max(threads))]
    result = {"files": ["model.keras"], "bytes": (fam.md.path / "model.keras").stat().st_size,
              "latency_window_ms": {t: r["latency_ms"] for t, r in per_thread.items()},
              "latency_frame_ms": {t: r["latency_ms"] for t, r in per_thread.items()},
              "throughput": {t: r["throughput"] for t, r in per_thread.items()}}
    return device_row(fam.name, "keras", result, top, top["backend"], params=fam.params,
                      **accuracy_fields(fam, fam.keras_probs))


def main(argv: list[str] | None = None) -> int:
    """Keras child: ``python -m har.export.bench SPEC.json OUT.json`` (run by :func:`run_keras`)."""
    spec_path, out = (sys.argv[1:] if argv is None else argv)[:2]
    Path(out).write_text(json.dumps(keras_child(json.loads(Path(spec_path).read_text()))))
    return 0
