"""Bundle metadata: written by export, validated on the device, refused with one clear sentence.

The models are the tiny real TFLite files of :mod:`tests.edge.tiny_models`
(pooling + dense): a bundle is now checked against its models' real tensors,
so the metadata must describe real files.
"""

from __future__ import annotations

import json
import shutil

import pytest

from har.edge.bundle import (
    METADATA_FILE,
    SCHEMA,
    Bundle,
    BundleError,
    TensorInfo,
    add_model,
    build_metadata,
    load_bundle,
    model_entry,
    write_metadata,
)
from tests.edge.tiny_models import write_tiny_bundle as _write_bundle

LABELS = ["idle", "wave", "jump"]


def _edit(path, fn):
    meta = json.loads((path / METADATA_FILE).read_text())
    fn(meta)
    (path / METADATA_FILE).write_text(json.dumps(meta))


def test_written_bundle_loads_with_every_field(tmp_path, tiny_models):
    b = _write_bundle(tmp_path / "b", tiny_models)
    assert isinstance(b, Bundle)
    assert b.labels == LABELS and b.num_classes == 3
    assert (b.seq_len, b.frame_size, b.color_order, b.normalization) == (20, 64, "RGB", "scale_0_1")
    assert (b.sampling_mode, b.interval_s, b.quantization, b.encoder_kind) == ("interval", 0.1, "int8", "cnn")
    assert b.has_streaming and b.feature_dim == 64
    assert b.model_file("window") == tmp_path / "b" / "model.tflite"
    assert b.model_file("head").name == "head.tflite"
    assert b.source_metrics == {"test_accuracy": 0.9, "macro_f1": 0.88}
    assert b.models["window"].input.quantized and b.models["window"].input.zero_point == -128
    meta = b.metadata
    assert meta["schema"] == SCHEMA and meta["schema_version"] == 1 and meta["har_version"]
    assert meta["exported_at"] and meta["sampling"] == {"mode": "interval", "interval_s": 0.1}
    assert set(meta["models"]["window"]) >= {"file", "sha256", "bytes", "input", "output", "ops"}


def test_uniform_sampling_has_no_interval(tmp_path, tiny_models):
    b = _write_bundle(tmp_path / "b", tiny_models, mode="uniform")
    assert b.sampling_mode == "uniform" and b.interval_s is None


def test_bundle_without_streaming_pair(tmp_path, tiny_models):
    b = _write_bundle(tmp_path / "b", tiny_models, streaming=False)
    assert not b.has_streaming and b.feature_dim is None
    with pytest.raises(BundleError, match="no 'encoder' model"):
        b.model_file("encoder")


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupted_model_file_is_refused(tmp_path, damage, tiny_models):
    _write_bundle(tmp_path / "b", tiny_models)
    f = tmp_path / "b" / "model.tflite"
    data = bytearray(f.read_bytes())
    if damage == "flip":
        data[100] ^= 0xFF
        f.write_bytes(bytes(data))
    elif damage == "truncate":
        f.write_bytes(bytes(data[:-10]))
    else:
        f.unlink()
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")
    msg = str(e.value)
    assert "model.tflite" in msg and "\n" not in msg
    assert ("sha256" in msg) if damage != "delete" else ("missing" in msg)


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m.update(schema_version=3), "schema version 3"),
    (lambda m: m.update(schema="something-else"), "not a har-edge bundle"),
    (lambda m: m.update(seq_len=16), "seq_len 16"),
    (lambda m: m.update(frame_size=96), "frame_size 96"),
    (lambda m: m["labels"].append("extra"), "4 labels"),
    (lambda m: m.update(labels=["a", "a", "b"]), "distinct"),
    (lambda m: m.pop("labels"), "lacks the field 'labels'"),
    (lambda m: m.update(color_order="BGR"), "color_order 'BGR'"),
    (lambda m: m.update(quantization="int4"), "quantization 'int4'"),
    (lambda m: m["sampling"].update(interval_s=0), "positive 'interval_s'"),
    (lambda m: m["models"]["window"].update(sha256="0" * 64), "does not match the sha256"),
    (lambda m: m["models"]["window"].update(file="../model.tflite"), "plain file name"),
    (lambda m: m["models"].pop("head"), "come as a pair"),
    (lambda m: m["models"].pop("window"), "no 'window' entry"),
    (lambda m: m.update(seq_len="20"), "'seq_len' must be int"),
])
def test_edited_metadata_is_refused(tmp_path, edit, expected, tiny_models):
    _write_bundle(tmp_path / "b", tiny_models)
    _edit(tmp_path / "b", edit)
    with pytest.raises(BundleError, match="bundle|metadata") as e:
        load_bundle(tmp_path / "b")
    assert expected in str(e.value)
    assert "\n" not in str(e.value)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="does not exist"):
        load_bundle(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BundleError, match="no metadata.json"):
        load_bundle(tmp_path / "empty")
    (tmp_path / "empty" / METADATA_FILE).write_text("{not json")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(tmp_path / "empty")


def test_write_metadata_refuses_to_leave_an_invalid_bundle(tmp_path, tiny_models):
    b = _write_bundle(tmp_path / "b", tiny_models)
    bad = dict(b.metadata, seq_len=5)
    with pytest.raises(BundleError):
        write_metadata(tmp_path / "b", bad)


def test_add_edgetpu_model(tmp_path, tiny_models):
    _write_bundle(tmp_path / "b", tiny_models)
    compiled = tmp_path / "encoder_edgetpu.tflite"
    compiled.write_bytes(b"edgetpu" * 100)
    b = load_bundle(tmp_path / "b")
    with pytest.raises(BundleError, match="no Edge TPU-compiled encoder"):
        b.model_file("encoder", delegate="edgetpu")
    with pytest.raises(BundleError, match="runs the streaming encoder, not the whole-window model"):
        b.model_file("window", delegate="edgetpu")
    b = add_model(tmp_path / "b", "encoder_edgetpu", compiled)
    assert b.model_file("encoder", delegate="edgetpu") == tmp_path / "b" / "encoder_edgetpu.tflite"
    assert b.models["encoder_edgetpu"].input == b.models["encoder"].input
    with pytest.raises(BundleError, match="the name must be one of"):
        add_model(tmp_path / "b", "encoder", compiled)
    (tmp_path / "b" / "encoder_edgetpu.tflite").write_bytes(b"tampered")
    with pytest.raises(BundleError, match="encoder_edgetpu.tflite does not match"):
        load_bundle(tmp_path / "b")


def test_bundle_copies_are_valid_anywhere(tmp_path, tiny_models):
    _write_bundle(tmp_path / "b", tiny_models)
    shutil.copytree(tmp_path / "b", tmp_path / "copy")
    assert load_bundle(tmp_path / "copy").path == tmp_path / "copy"


# --------------------------------------------------------------------------- pose bundles (schema v2)

POSE_FEATURES = 104


@pytest.fixture
def pose_files(real_pose_models, tiny_models):
    """The pinned pose models (a pose bundle accepts no others) and a tiny real head."""
    return {"head": tiny_models["pose_head"].read_bytes(), "pose_detector": real_pose_models.detector.read_bytes(),
            "pose_landmarks": real_pose_models.landmarks.read_bytes()}


def _write_pose_bundle(path, files, seq_len=20, feature_dim=POSE_FEATURES, labels=LABELS):
    path.mkdir(parents=True, exist_ok=True)
    specs = {"head": ((1, seq_len, feature_dim), (1, len(labels))),
             "pose_detector": ((1, 224, 224, 3), (1, 2254, 12)), "pose_landmarks": ((1, 256, 256, 3), (1, 195))}
    models = {}
    for name, (shape_in, shape_out) in specs.items():
        f = path / f"{name}.tflite"
        f.write_bytes(files[name])
        models[name] = model_entry(f, TensorInfo(shape_in, "float32"), TensorInfo(shape_out, "float32"),
                                   ["CONV_2D"], "fp32")
    meta = build_metadata(labels=labels, seq_len=seq_len, frame_size=None, sampling_mode="interval", interval_s=0.1,
                          quantization="fp32", models=models, encoder_kind="pose",
                          pose={"feature_dim": feature_dim}, source={"model": "pose_lstm", "test_metrics": {}})
    return write_metadata(path, meta)


def test_pose_bundle_loads_as_schema_v2_while_pixel_bundles_stay_v1(tmp_path, pose_files, tiny_models):
    b = _write_pose_bundle(tmp_path / "pose", pose_files)
    assert b.is_pose and b.encoder_kind == "pose" and b.schema_version == 2
    assert b.frame_size is None and b.feature_dim == POSE_FEATURES and not b.has_streaming
    assert b.model_file("pose_landmarks") == tmp_path / "pose" / "pose_landmarks.tflite"
    assert b.metadata["pose"] == {"feature_dim": POSE_FEATURES}
    pixel = _write_bundle(tmp_path / "pixel", tiny_models)
    assert pixel.schema_version == 1 and pixel.metadata["schema_version"] == 1 and not pixel.is_pose


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m.update(schema_version=1), "need schema version 2"),
    (lambda m: m["models"].pop("pose_detector"), "missing pose_detector"),
    (lambda m: m["pose"].update(feature_dim=99), "pose.feature_dim 99"),
    (lambda m: m.pop("pose"), "lacks the field 'pose'"),
    (lambda m: m["labels"].append("extra"), "4 labels"),
    (lambda m: m["models"].update(window=m["models"]["head"]), "has no pixel model"),
    (lambda m: m["models"]["pose_landmarks"].update(sha256="0" * 64), "is not the pinned pose_landmark_full"),
    (lambda m: m["models"]["head"].update(sha256="0" * 64), "does not match the sha256"),
])
def test_edited_pose_metadata_is_refused(tmp_path, pose_files, edit, expected):
    _write_pose_bundle(tmp_path / "b", pose_files)
    _edit(tmp_path / "b", edit)
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_tampered_pose_model_is_refused(tmp_path, pose_files):
    _write_pose_bundle(tmp_path / "b", pose_files)
    f = tmp_path / "b" / "pose_detector.tflite"
    data = bytearray(f.read_bytes())
    data[7] ^= 0x01
    f.write_bytes(bytes(data))
    with pytest.raises(BundleError, match=r"pose_detector\.tflite does not match the sha256"):
        load_bundle(tmp_path / "b")


def test_a_pose_model_other_than_the_pinned_one_is_refused_even_with_consistent_metadata(tmp_path, pose_files):
    other = dict(pose_files, pose_landmarks=pose_files["pose_landmarks"][:-16] + bytes(16))  # e.g. a modified model
    with pytest.raises(BundleError, match=r"model 'pose_landmarks' is not the pinned pose_landmark_full\.tflite"):
        _write_pose_bundle(tmp_path / "b", other)  # metadata.json records the new file's own sha256


def test_pixel_bundle_may_not_list_pose_models(tmp_path, tiny_models):
    _write_bundle(tmp_path / "b", tiny_models)
    _edit(tmp_path / "b", lambda m: m["models"].update(pose_detector=m["models"]["encoder"]))
    with pytest.raises(BundleError, match="pose models listed in a bundle whose encoder is 'cnn'"):
        load_bundle(tmp_path / "b")


# --------------------------------------------------------------------------- pose models from the pose cache


def _write_cache_pose_bundle(path, files, cache):
    """A pose bundle whose pose models are entries with ``"source": "pose-cache"`` and no file in the folder."""
    from har.edge.bundle import POSE_CACHE_FILES

    path.mkdir(parents=True, exist_ok=True)
    (path / "head.tflite").write_bytes(files["head"])
    models = {"head": model_entry(path / "head.tflite", TensorInfo((1, 20, POSE_FEATURES), "float32"),
                                  TensorInfo((1, len(LABELS)), "float32"), ["UNIDIRECTIONAL_SEQUENCE_LSTM"], "fp32")}
    specs = {"pose_detector": ((1, 224, 224, 3), (1, 2254, 12)), "pose_landmarks": ((1, 256, 256, 3), (1, 195))}
    for name, file in POSE_CACHE_FILES.items():
        shape_in, shape_out = specs[name]
        models[name] = model_entry(cache / file, TensorInfo(shape_in, "float32"), TensorInfo(shape_out, "float32"),
                                   ["CONV_2D"], "fp32", source="pose-cache")
    meta = build_metadata(labels=LABELS, seq_len=20, frame_size=None, sampling_mode="interval", interval_s=0.1,
                          quantization="fp32", models=models, encoder_kind="pose",
                          pose={"feature_dim": POSE_FEATURES}, source={"model": "pose_lstm", "test_metrics": {}})
    return write_metadata(path, meta)


def test_pose_models_from_the_pose_cache_resolve_there(tmp_path, pose_files, pose_cache):
    b = _write_cache_pose_bundle(tmp_path / "b", pose_files, pose_cache)
    assert sorted(p.name for p in (tmp_path / "b").iterdir()) == ["head.tflite", "metadata.json"]
    assert b.pose_models_source == "pose-cache" and b.pose_cache == pose_cache
    assert b.model_file("pose_detector") == pose_cache / "pose_detection.tflite"
    assert b.model_file("pose_landmarks") == pose_cache / "pose_landmark_full.tflite"
    assert b.model_file("head") == tmp_path / "b" / "head.tflite"
    assert b.metadata["models"]["pose_landmarks"]["source"] == "pose-cache"
    assert "source" not in b.metadata["models"]["head"]
    assert b.min_found_fraction == 0.5  # not in this metadata: the default
    assert _write_pose_bundle(tmp_path / "copy", pose_files).pose_models_source == "bundle"


def test_a_pose_cache_bundle_without_the_cached_models_says_how_to_get_them(tmp_path, pose_files, pose_cache):
    _write_cache_pose_bundle(tmp_path / "b", pose_files, pose_cache)
    (pose_cache / "pose_landmark_full.tflite").unlink()
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")  # pytest's stdin is no terminal: no fetch, one sentence instead
    msg = str(e.value)
    assert msg.startswith(f"bundle {tmp_path / 'b'} takes its pose models from the pose cache, but the pose "
                          f"models are not in {pose_cache} (missing pose_landmark_full.tflite)")
    assert "`har-edge models fetch pose`" in msg and "\n" not in msg


def test_a_changed_file_in_the_pose_cache_is_refused(tmp_path, pose_files, pose_cache):
    _write_cache_pose_bundle(tmp_path / "b", pose_files, pose_cache)
    f = pose_cache / "pose_detection.tflite"
    data = bytearray(f.read_bytes())
    data[100] ^= 0xFF
    f.write_bytes(bytes(data))
    with pytest.raises(BundleError, match="is not the pose model this version expects"):
        load_bundle(tmp_path / "b")


@pytest.mark.parametrize("edit, expected", [
    (lambda m: m["models"]["head"].update(source="pose-cache"), "only the pose models can come from the pose cache"),
    (lambda m: m["models"]["pose_detector"].update(file="other.tflite"), "not model 'pose_detector' as 'other"),
    (lambda m: m["models"]["pose_detector"].update(source="web"), "source 'web' is not one of bundle, pose-cache"),
    (lambda m: m["models"]["pose_detector"].pop("source"), "must both be in the bundle or both come from"),
    (lambda m: m["pose"].update(min_found_fraction=1.5), "min_found_fraction must be a number from 0 to 1"),
])
def test_edited_pose_cache_metadata_is_refused(tmp_path, pose_files, pose_cache, edit, expected):
    _write_cache_pose_bundle(tmp_path / "b", pose_files, pose_cache)
    _edit(tmp_path / "b", edit)
    with pytest.raises(BundleError) as e:
        load_bundle(tmp_path / "b")
    assert expected in str(e.value) and "\n" not in str(e.value)
