"""A bundle whose metadata.json does not describe its model files is refused by name.

The metadata below is always self-consistent (labels, seq_len and the
recorded tensor shapes agree), so only a comparison with the models' real
tensors can catch it. Before that check, such bundles predicted a wrong label
at 0.998 confidence, crashed ``predict`` with an IndexError, or failed at the
first frame with a ValueError traceback.
"""

from __future__ import annotations

import json
import math
import shutil

import pytest

from har.edge.bundle import METADATA_FILE, BundleError, load_bundle, sha256_file
from har.edge.errors import HarError
from tests.edge.tiny_models import write_tiny_bundle


def _edit(path, fn):
    meta = json.loads((path / METADATA_FILE).read_text())
    fn(meta)
    (path / METADATA_FILE).write_text(json.dumps(meta))


def _labels(n):
    def edit(m):
        m["labels"] = [f"l{i}" for i in range(n)]
        for name in ("window", "head"):
            m["models"][name]["output"]["shape"] = [1, n]
    return edit


def _seq_len(m):
    m["seq_len"] = 16
    m["models"]["window"]["input"]["shape"][1] = 16
    m["models"]["head"]["input"]["shape"][1] = 16


def _swap_encoder_head(m):
    enc, head = m["models"]["encoder"], m["models"]["head"]
    for key in ("file", "sha256", "bytes"):
        enc[key], head[key] = head[key], enc[key]


@pytest.mark.parametrize("edit, expected", [
    (_labels(4), "model 'window' (model.tflite) output is int8[1, 3]"),  # 4 labels for a 3-class model
    (_labels(2), "model 'window' (model.tflite) output is int8[1, 3]"),  # fewer labels than outputs
    (_seq_len, "model 'window' (model.tflite) input is int8[1, 20, 64, 64, 3]"),
    (_swap_encoder_head, "model 'encoder' (head.tflite) input is float32[1, 20, 64]"),
    (lambda m: m["models"]["window"]["input"].update(scale=0.5), "scale 0.5"),
    (lambda m: m["models"]["window"]["output"].update(zero_point=0), "model 'window' (model.tflite) output"),
    (lambda m: m["models"]["encoder"]["input"].update(dtype="uint8"), "says uint8[1, 64, 64, 3]"),
])
def test_metadata_that_does_not_describe_the_model_is_refused_by_name(tmp_path, tiny_models, edit, expected):
    write_tiny_bundle(tmp_path / "b", tiny_models)
    _edit(tmp_path / "b", edit)
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")
    msg = str(e.value)
    assert expected in msg and "re-export" in msg and "\n" not in msg


def test_a_file_that_is_not_a_model_is_refused_even_with_its_sha256_recorded(tmp_path, tiny_models):
    write_tiny_bundle(tmp_path / "b", tiny_models)
    head = tmp_path / "b" / "head.tflite"
    head.write_bytes(head.read_bytes()[:-300])  # truncated, and metadata.json updated to match

    def rehash(m):
        m["models"]["head"].update(sha256=sha256_file(head), bytes=head.stat().st_size)
    _edit(tmp_path / "b", rehash)
    with pytest.raises(BundleError, match=r"model 'head' \(.*head\.tflite\) is not a TFLite model"):
        load_bundle(tmp_path / "b")


def test_a_model_with_two_outputs_is_not_a_head(tmp_path, tiny_models, real_pose_models):
    write_tiny_bundle(tmp_path / "b", tiny_models)
    shutil.copyfile(real_pose_models.detector, tmp_path / "b" / "head.tflite")
    det = tmp_path / "b" / "head.tflite"

    def point_head_at_detector(m):
        m["models"]["head"].update(sha256=sha256_file(det), bytes=det.stat().st_size)
    _edit(tmp_path / "b", point_head_at_detector)
    with pytest.raises(BundleError, match="has 1 inputs and 2 outputs"):
        load_bundle(tmp_path / "b")


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m.update(schema_version=True), "schema version True"),
    (lambda m: m["sampling"].update(interval_s=math.nan), "not nan"),
    (lambda m: m["sampling"].update(interval_s=math.inf), "not inf"),
    (lambda m: m["sampling"].update(interval_s=1e300), "at most 60 s"),
    (lambda m: m.update(seq_len=10**9), "'seq_len' must be from 1 to 1024"),
    (lambda m: m.update(seq_len=1024, frame_size=1024), "needs over 1 GiB"),
    (lambda m: m["models"]["window"]["input"].update(shape=[1, 20.0, 64, 64, 3]), "malformed shape"),
    (lambda m: m["models"]["window"]["input"].update(shape=[]), "malformed shape"),
    (lambda m: m["models"]["window"]["input"].update(scale=math.inf), "malformed shape or quantization"),
    (lambda m: m["models"]["window"].update(ops=7), "ops must be a list"),
])
def test_values_that_used_to_be_accepted_are_refused(tmp_path, tiny_models, edit, expected):
    write_tiny_bundle(tmp_path / "b", tiny_models)
    _edit(tmp_path / "b", edit)  # json.dumps writes NaN and Infinity, and json.loads reads them
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_deeply_nested_and_huge_metadata_are_refused(tmp_path):
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / METADATA_FILE).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(BundleError, match="nests too deeply"):
        load_bundle(tmp_path / "deep")
    (tmp_path / "big").mkdir()
    (tmp_path / "big" / METADATA_FILE).write_text('{"x": "' + "a" * (5 << 20) + '"}')
    with pytest.raises(BundleError, match="over 4 MiB"):
        load_bundle(tmp_path / "big")


def test_odd_provenance_is_ignored_not_a_crash(tmp_path, tiny_models):
    write_tiny_bundle(tmp_path / "b", tiny_models)
    _edit(tmp_path / "b", lambda m: m["source"].update(test_metrics=[1, 2]))
    assert load_bundle(tmp_path / "b").source_metrics == {}


def test_every_edge_error_is_a_har_error():
    from har.edge.bench import BenchError
    from har.edge.config import ConfigError
    from har.edge.download import DownloadError, MismatchError
    from har.edge.interpreter import InterpreterError
    from har.edge.pipeline import PipelineError
    from har.edge.pose.assets import PoseModelsError
    from har.edge.prometheus import MetricsError
    from har.edge.sinks.mqtt import MqttError, MqttMissing
    from har.edge.sources import SourceError

    for cls, base in [(BundleError, ValueError), (ConfigError, ValueError), (SourceError, OSError),
                      (PipelineError, RuntimeError), (InterpreterError, OSError), (PoseModelsError, OSError),
                      (DownloadError, OSError), (MismatchError, OSError), (BenchError, RuntimeError),
                      (MetricsError, OSError), (MqttError, ValueError), (MqttMissing, ImportError)]:
        assert issubclass(cls, HarError) and issubclass(cls, base), cls
