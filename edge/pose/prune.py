"""The landmark model without the outputs the pose path never reads: the same numbers for less work.

BlazePose's landmark models compute five outputs; the pose path reads three
(the landmarks, the pose flag and the heatmap that refines them). The other
two, a 256x256 segmentation mask and the world landmarks, cost about 40 % of
the full model's time on one x86 core (docs/pose.md, "Cost against
accuracy"), and a TFLite interpreter runs every op of a graph whether or not
an output is read. So the graph is pruned in memory when the model is
loaded: the outputs not kept are removed, then every op that no kept output
depends on. The kept outputs are bit-identical to the whole graph's (a test
compares them on real frames), and the file on disk stays the verified,
pinned one.

Pruning reads and writes the flatbuffer with ``ai_edge_litert.tools`` (part
of the ai-edge-litert wheel, pure Python). Where it is missing, as on a board
with only tflite-runtime, the whole graph runs: same answers, more time.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)
_warned = False


def prune_outputs(path: str | Path, keep_shapes: Iterable[tuple[int, ...]]) -> bytes | None:
    """The model at ``path`` with only the outputs shaped as in ``keep_shapes`` and the ops they need.

    Returns the serialized model, or None (the caller loads the file as it is)
    when the flatbuffer tools are not installed or the graph is not one this
    can prune: several subgraphs (control flow), or no output of a kept shape.
    """
    global _warned
    try:
        import numpy as np
        from ai_edge_litert.tools import flatbuffer_utils
    except ImportError:
        if not _warned:
            log.info("ai_edge_litert.tools is not installed: the pose landmark model runs with its unused outputs")
            _warned = True
        return None
    keep_shapes = {tuple(int(v) for v in s) for s in keep_shapes}
    try:
        model = flatbuffer_utils.read_model(str(path))
    except Exception:  # noqa: BLE001 - not a model the reader parses: the interpreter says what is wrong with it
        return None
    if len(model.subgraphs) != 1:
        return None
    graph = model.subgraphs[0]
    outputs = [int(i) for i in graph.outputs if tuple(int(v) for v in graph.tensors[int(i)].shape) in keep_shapes]
    if not outputs:
        return None
    producer = {int(t): k for k, op in enumerate(graph.operators) for t in op.outputs}
    needed: set[int] = set()
    stack = list(outputs)
    while stack:
        k = producer.get(stack.pop())
        if k is None or k in needed:
            continue
        needed.add(k)
        stack.extend(int(t) for t in graph.operators[k].inputs if t >= 0)
    graph.operators = [op for k, op in enumerate(graph.operators) if k in needed]
    graph.outputs = np.asarray(outputs, np.int32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
