"""Bundle load runs every model once on zeros, except the pinned pose models: a broken head is still refused.

The run on zeros catches graphs that allocate but fail at ``invoke`` (a
constant tensor without data). The two BlazePose models are Google's files,
held to their pinned SHA-256 before their tensors are read, so load skips
their run; the head, trained here, is still run.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import pytest

from har.edge.bundle import METADATA_FILE, BundleError, load_bundle
from har.edge.default_model import default_bundle_path
from har.edge.digest import sha256_file
from har.edge.litert import model_tensors
from har.edge.pose.lite import PINNED_SHA256


def drop_constant_data(model: Path) -> None:
    """Point the first constant tensor at the empty buffer 0: the graph allocates, and fails when invoked."""
    schema = pytest.importorskip("ai_edge_litert.schema_py_generated", reason="needs the LiteRT flatbuffer schema")
    data = bytearray(model.read_bytes())
    root = schema.Model.GetRootAsModel(data, 0)
    graph = root.Subgraphs(0)
    for i in range(graph.TensorsLength()):
        tensor = graph.Tensors(i)
        field = tensor._tab.Offset(8)  # Tensor.buffer
        if field and tensor.Buffer() and root.Buffers(tensor.Buffer()).DataLength():
            struct.pack_into("<I", data, tensor._tab.Pos + field, 0)
            model.write_bytes(bytes(data))
            return
    raise AssertionError(f"{model} has no constant tensor")


def test_the_default_models_pose_files_are_the_pinned_ones_and_its_head_is_not():
    meta = json.loads((default_bundle_path() / METADATA_FILE).read_text())["models"]
    assert {meta["pose_detector"]["sha256"], meta["pose_landmarks"]["sha256"]} <= PINNED_SHA256
    assert meta["head"]["sha256"] not in PINNED_SHA256


def test_a_head_that_allocates_but_fails_at_invoke_is_refused_at_load(pose_cache, tmp_path):
    bundle = tmp_path / "b"
    shutil.copytree(default_bundle_path(), bundle)
    head = bundle / "head.tflite"
    drop_constant_data(head)
    model_tensors(head, invoke=False)  # allocates and reads its ops fine: only the run can tell
    meta = json.loads((bundle / METADATA_FILE).read_text())
    meta["models"]["head"].update(sha256=sha256_file(head), bytes=head.stat().st_size)  # re-hashed to match
    (bundle / METADATA_FILE).write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"model 'head' .* is not a TFLite model this runtime can load .*lacks data"):
        load_bundle(bundle)
    load_bundle(default_bundle_path())  # the untouched default model loads from the same cache
