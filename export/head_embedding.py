"""The head's penultimate layer as a second output of ``head.tflite``: the embedding ``har-edge enroll`` compares.

Why in the flatbuffer, after conversion: the tensor that feeds the head's
final dense layer (the LSTM's last state) is already computed by every
invocation; naming it ``embedding`` (``har.edge.bundle.EMBEDDING_OUTPUT``)
and listing it as a model output gives the device the window's embedding
from the invocation that classifies it, at no extra cost. Ops, weights and
quantization are untouched, so the probabilities stay bit for bit what they
were (a second Keras output would be converted, and int8-calibrated, anew),
and a bundle exported before this, the default model included, gains the
output without TensorFlow reconverting anything (:mod:`har.export.embed`).
Needs TensorFlow's flatbuffer schema, so it runs on the workstation only.
"""

from __future__ import annotations

import numpy as np

from har.edge.bundle import EMBEDDING_OUTPUT

#: Ops between the final dense layer and the model's output that carry one tensor through.
_PASS_THROUGH = ("SOFTMAX", "QUANTIZE", "DEQUANTIZE", "RESHAPE")


class HeadEmbeddingError(ValueError):
    """The head has no final dense layer whose input could be the embedding (one sentence)."""


def _op_names(model) -> list[str]:
    from tensorflow.lite.python import schema_py_generated as schema

    names = {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}
    return [names.get(max(c.builtinCode, c.deprecatedBuiltinCode), "CUSTOM") for c in model.operatorCodes]


def penultimate_tensor(model) -> int:
    """Index of the tensor the final FULLY_CONNECTED reads, walking back from the single output."""
    sg = model.subgraphs[0]
    if len(sg.outputs) != 1:
        raise HeadEmbeddingError(f"the head has {len(sg.outputs)} outputs, not one")
    codes = _op_names(model)
    producer = {int(t): op for op in sg.operators for t in op.outputs}
    t = int(sg.outputs[0])
    while (op := producer.get(t)) is not None:
        name = codes[op.opcodeIndex]
        if name == "FULLY_CONNECTED":
            return int(op.inputs[0])
        if name not in _PASS_THROUGH:
            break
        t = int(op.inputs[0])
    raise HeadEmbeddingError("the head does not end in a dense layer (FULLY_CONNECTED, then softmax), so it has no "
                             "penultimate layer to give as its embedding")


def add_embedding_output(model_bytes: bytes) -> bytes:
    """``model_bytes`` with the head's penultimate layer as a second output named ``embedding`` (idempotent)."""
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(model_bytes))
    sg = model.subgraphs[0]
    if any(sg.tensors[int(i)].name == EMBEDDING_OUTPUT.encode() for i in sg.outputs):
        return bytes(model_bytes)
    index = penultimate_tensor(model)
    sg.tensors[index].name = EMBEDDING_OUTPUT.encode()
    sg.outputs = np.append(sg.outputs, index).astype(np.int32)
    for sig in model.signatureDefs or []:
        out = schema.TensorMapT()
        out.name, out.tensorIndex = EMBEDDING_OUTPUT.encode(), index
        sig.outputs.append(out)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
