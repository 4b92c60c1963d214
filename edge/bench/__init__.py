"""The device half of the benchmark: latency, pipeline throughput and peak memory, without TensorFlow.

Used twice, so both give the same rows: on the workstation ``har bench``
(:mod:`har.export.bench`) runs it in child processes, one per interpreter
backend (ai-edge-litert here, tflite-runtime from its own venv); on the Pi,
``har-edge bench BUNDLE`` runs it on the device itself.

How each number is measured, and why that way:

* **Latency** (p50 and p95 after warm-up): every (variant, threads) pair runs
  a few calls per round, round after round, in one process, so a slow moment
  of a shared machine hits every variant alike and the ratios stay fair. *Per
  window* classifies a full window from scratch; *per new frame* is what one
  more sampled frame costs at stride 1: the whole window again for a
  whole-window model, one encoder call plus the head on cached features for
  streaming.
* **Throughput**: the real edge pipeline (FileSource decode -> sampler ->
  resize -> window -> classifier -> smoother) over a 640x480 30 fps file at
  stride 1, counted from the first classified window on (the steady state a
  camera sees; the first seconds only fill the window). Passes are
  interleaved across variants too.
* **Pose bundles** have one variant, run like streaming: *per new frame* is
  the pose estimator on that frame plus the head on the cached keypoints.
  The row's ``pose`` field splits it: ms per detector run and the share of
  frames it ran on (it runs only when nobody is tracked), ms per landmark
  run, and the head alone. Give them a ``--video`` with a person in it: on
  the generated clip the detector finds nobody and runs on every frame.
* **Peak memory**: the peak RSS (``VmHWM``) of a fresh process that loads only that
  variant and runs the pipeline over the file, since one process's peak cannot
  be split between models that shared it. The peak after imports alone is
  reported beside it, so the model's own share is visible.
"""

from har.edge.bench.child import measure_in_child, memory_in_child, run_child
from har.edge.bench.device import bench_bundle, report_accuracy
from har.edge.bench.environment import cpu_name, environment
from har.edge.bench.measure import cpu_ops, measure, pose_counters
from har.edge.bench.memory import MEMORY_WINDOWS, peak_memory, peak_rss_mib
from har.edge.bench.pipeline import STEADY_WINDOWS, decode_pass, median_pass, pipeline_pass
from har.edge.bench.plan import BenchError, Variant, parse_threads
from har.edge.bench.rows import ROW_FIELDS, device_row, note_lines, pose_lines, table_lines
from har.edge.bench.timing import summarize, time_interleaved
from har.edge.bench.video import VIDEO_FPS, VIDEO_SIZE, write_test_video

__all__ = ["MEMORY_WINDOWS", "ROW_FIELDS", "STEADY_WINDOWS", "VIDEO_FPS", "VIDEO_SIZE", "BenchError", "Variant",
           "bench_bundle", "cpu_name", "cpu_ops", "decode_pass", "device_row", "environment", "measure",
           "measure_in_child", "median_pass", "memory_in_child", "note_lines", "parse_threads", "peak_memory",
           "peak_rss_mib", "pipeline_pass", "pose_counters", "pose_lines", "report_accuracy", "run_child",
           "summarize", "table_lines", "time_interleaved", "write_test_video"]
