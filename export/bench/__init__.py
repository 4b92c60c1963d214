"""``har bench``: accuracy against latency, size and memory of every model variant, in one run.

For each trained model directory (``artifacts/lrcn``, ``artifacts/convlstm``)
every TFLite variant is converted once (fp32, dynamic, fp16, int8, and the
int8 streaming pair for LRCN; a variant the converter refuses becomes an error
row, the others go on), each is wrapped in a bundle, and then:

* one child process per interpreter backend (ai-edge-litert from this venv,
  tflite-runtime from its own venv) classifies the model's held-out
  group-disjoint test split with every variant and times all of them side by
  side (:func:`har.edge.bench.measure`), so ratios are fair on a noisy,
  shared machine;
* one short child per (variant, backend) gives that variant's peak memory,
  which a process shared with other models could not;
* the Keras models run in TensorFlow children, one per thread count
  (TensorFlow fixes its thread pools when it starts).

The parent never imports TensorFlow (as ``har export``): conversion and the
Keras reference run in subprocesses. Outputs: ``bench.json`` (every number,
the machine, library versions, date), ``bench.md`` (the table) and
``pareto.png`` (accuracy against latency, Pareto front marked).
"""

from har.export.bench.families import (
    FAMILIES,
    STREAMING_QUANTS,
    WINDOW_QUANTS,
    Family,
    dataset_drift,
    find_models,
    prepare_family,
    snapshot,
)
from har.export.bench.pareto import pareto_front, plot_pareto
from har.export.bench.render import render_markdown, write_outputs
from har.export.bench.run import run_bench

__all__ = ["FAMILIES", "STREAMING_QUANTS", "WINDOW_QUANTS", "Family", "dataset_drift", "find_models", "pareto_front",
           "plot_pareto", "prepare_family", "render_markdown", "run_bench", "snapshot", "write_outputs"]
