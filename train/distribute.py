"""Data-parallel training with tf.distribute: ``--strategy none|mirrored|multiworker``.

* ``none``: no strategy, today's single-process path.
* ``mirrored``: ``MirroredStrategy`` over this machine's GPUs (or its CPU).
* ``multiworker``: ``MultiWorkerMirroredStrategy``; every machine runs the
  same ``har train`` with its own ``TF_CONFIG`` (docs/distributed.md).

The model is built and compiled under ``strategy.scope()``, ``batch_size``
is per replica (the global batch is ``batch_size x replicas``), and only the
chief writes artifacts: other workers save into a temporary folder that is
then deleted, the standard pattern, since saving is collective.

The multi-worker strategy must exist before TensorFlow's runtime starts, so
:func:`get_strategy` is called first thing and keeps one strategy per process.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os

import numpy as np

from har.train.errors import TrainError

log = logging.getLogger(__name__)
STRATEGIES = ("none", "mirrored", "multiworker")
_STRATEGY: dict[str, object] = {}


def check_strategy(name: str) -> str:
    if name not in STRATEGIES:
        raise TrainError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return name


def read_tf_config() -> dict:
    """``TF_CONFIG`` parsed and checked; a ValueError says what is wrong and what to set."""
    raw = os.environ.get("TF_CONFIG")
    hint = ('set it on each machine, e.g. TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
            '"task": {"type": "worker", "index": 0}}\' (docs/distributed.md)')
    if not raw:
        raise TrainError(f"--strategy multiworker needs the TF_CONFIG environment variable; {hint}")
    try:
        cfg = json.loads(raw)
    except json.JSONDecodeError as e:
        raise TrainError(f"TF_CONFIG is not valid JSON ({e.msg} at character {e.pos}); {hint}") from None
    cluster, task = (cfg.get("cluster"), cfg.get("task")) if isinstance(cfg, dict) else (None, None)
    if not isinstance(cluster, dict) or not cluster or not isinstance(task, dict):
        raise TrainError(f"TF_CONFIG needs a 'cluster' and a 'task'; {hint}")
    members = cluster.get(task.get("type"))
    index = task.get("index")
    if not isinstance(members, list) or not isinstance(index, int) or not 0 <= index < len(members):
        raise TrainError(f"TF_CONFIG task {task} is not in its cluster {cluster}; the task's type must be a key of "
                         f"'cluster' and its index a position in that list")
    return cfg


def is_chief() -> bool:
    """True unless this process is a non-chief task of a ``TF_CONFIG`` cluster."""
    if "multiworker" not in _STRATEGY:
        return True
    cfg = read_tf_config()
    task = cfg["task"]
    if "chief" in cfg["cluster"]:
        return task["type"] == "chief"
    return task["type"] == "worker" and task["index"] == 0


def task_name() -> str:
    if "multiworker" not in _STRATEGY:
        return "local"
    task = read_tf_config()["task"]
    return f"{task['type']} {task['index']}"


def get_strategy(name: str):
    """The strategy for ``name`` (None for ``none``); created once per process."""
    check_strategy(name)
    if name == "none":
        return None
    if _STRATEGY and name not in _STRATEGY:
        raise TrainError(f"this process already trains with strategy {next(iter(_STRATEGY))!r}; "
                         f"run {name!r} in a new process")
    if name not in _STRATEGY:
        import tensorflow as tf

        if name == "multiworker":
            read_tf_config()
            _STRATEGY[name] = tf.distribute.MultiWorkerMirroredStrategy()
            _patch_keras_multiworker()
        else:
            _STRATEGY[name] = tf.distribute.MirroredStrategy()
        log.info("strategy %s: %d replica(s) in sync", name, _STRATEGY[name].num_replicas_in_sync)
    return _STRATEGY[name]


def weights_digest(model) -> str:
    """sha256 of every weight, in order: equal digests mean the same trained model."""
    h = hashlib.sha256()
    for w in model.weights:
        h.update(np.ascontiguousarray(w.numpy(), np.float32).tobytes())
    return h.hexdigest()


def _patch_keras_multiworker() -> None:
    """Work around Keras 3's two multi-worker bugs (keras-team/keras#20585), for this strategy only.

    Keras reduces a whole (x, y) batch structure with one ``strategy.reduce``
    call when it builds the model, and reduces scalar logs along ``axis=0``;
    the collective strategy accepts neither. The build only needs shapes, so
    it takes this worker's first replica batch; logs are averaged as scalars.
    """
    import tensorflow as tf
    from keras.src import tree
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer, "_har_multiworker_patched", False):
        return
    multi = tf.distribute.MultiWorkerMirroredStrategy
    build, reduce_logs = trainer.TensorFlowTrainer._maybe_symbolic_build, trainer.reduce_per_replica

    def first_local(strategy, v):
        return strategy.experimental_local_results(v)[0] if isinstance(v, tf.distribute.DistributedValues) else v

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is not None and isinstance(strategy, multi):
            for _, _, it in iterator:
                data_batch = tree.map_structure(lambda v: first_local(strategy, v), next(it))
                break
            iterator = None
        return build(self, iterator=iterator, data_batch=data_batch)

    def reduce_per_replica(values, strategy, reduction="auto"):
        if isinstance(strategy, multi) and reduction in ("auto", "mean"):
            return tree.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None) if isinstance(v, tf.distribute.DistributedValues)
                else v, values)
        return reduce_logs(values, strategy, reduction)

    trainer.TensorFlowTrainer._maybe_symbolic_build = maybe_symbolic_build
    trainer.reduce_per_replica = reduce_per_replica
    trainer._har_multiworker_patched = True
