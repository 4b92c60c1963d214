"""Export a pose head (``har train --encoder pose``) as a self-contained bundle.

| file | what |
|---|---|
| ``head.tflite`` | ``(1, seq_len, FEATURE_DIM)`` keypoint features -> class probabilities (fused LSTM) |
| (``head.tflite``'s second output, ``embedding``) | the head's penultimate layer (LSTM state), for ``har-edge enroll`` |
| ``pose_detector.tflite`` | BlazePose person detector, copied from the verified pose model cache |
| ``pose_landmarks.tflite`` | BlazePose landmark model (33 keypoints), copied likewise |
| ``metadata.json`` | schema v2, ``"encoder": "pose"``, ``pose.feature_dim``, sha256 of all three files |
| ``report.json``, ``report.md`` | the head's parity check against Keras on the held-out test split (:mod:`har.export.report`) |
| ``NOTICE-pose-models.txt`` | where the two pose models come from and their licence (Apache-2.0) |

With ``pose_models="cache"`` (``har export --pose-models cache``) the two pose
models are not copied: their entries keep sha256, tensors and ops and say
``"source": "pose-cache"``, and the device takes the pinned files from its own
pose cache. The bundle is then tens of KB (the default model that ships with
the package is one), and carries no notice, since it carries no Google files.

``pose.min_found_fraction`` (the share of a window's frames that must have a
pose for the device to give a label) comes from the model's ``config.json``
key ``min_found_fraction``, else 0.5.

The head is converted like the LRCN's streaming head (one
``UNIDIRECTIONAL_SEQUENCE_LSTM``, in the conversion subprocess). Unlike the
LRCN, an int8 bundle gets a full-integer head: its input is features, so it is
calibrated on up to ``--samples`` windows of *real* keypoint features from the
training split (drawn with the training seed), never the test split.

Features come from the keypoint cache ``har train --encoder pose`` filled, so
export estimates nothing again unless the cache is gone.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from har.edge.bundle import (
    DEFAULT_MIN_FOUND_FRACTION,
    MODEL_FILES,
    POSE_CACHE,
    TensorInfo,
    build_metadata,
    model_entry,
    write_metadata,
)
from har.edge.interpreter import TfliteModel, graph_ops, load_interpreter
from har.export.bundle import check_builtin_only, check_out_dir, provenance, section_for, staged_bundle
from har.export.checks import check_quant, load_model_dir
from har.export.data import calibration_clips, find_pose_models, pose_features
from har.export.errors import ExportError
from har.export.report import check_bundle, write_report
from har.export.worker import Conversion, convert_models
from har.models.folder import ModelFolder

log = logging.getLogger(__name__)


NOTICE_FILE = "NOTICE-pose-models.txt"
POSE_NOTICE = """pose_detector.tflite and pose_landmarks.tflite in this bundle are Google's BlazePose
detector and full landmark model (pose_detection.tflite, pose_landmark_full.tflite),
taken unchanged from the mediapipe wheel on PyPI and distributed under the
Apache License 2.0: https://www.apache.org/licenses/LICENSE-2.0
"""
#: ``--pose-models``: copy the two pose models into the bundle, or refer to the device's pose cache.
POSE_MODEL_MODES = ("copy", "cache")


def is_pose_model_dir(path: str | Path) -> bool:
    """True when ``path`` holds a model trained with ``--encoder pose``."""
    cfg = Path(path) / "config.json"
    try:
        return json.loads(cfg.read_text()).get("encoder") == "pose"
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def _io(path: Path) -> tuple[TensorInfo, TensorInfo]:
    """First input and first output of a model with several outputs (the pose models have 2 and 5)."""
    it = load_interpreter(path)

    def info(d: dict) -> TensorInfo:
        scale, zero_point = d["quantization"]
        return TensorInfo(tuple(int(x) for x in d["shape"]), np.dtype(d["dtype"]).name, float(scale), int(zero_point))

    return info(it.get_input_details()[0]), info(it.get_output_details()[0])


def check_pose_models_mode(mode: str) -> str:
    if mode not in POSE_MODEL_MODES:
        raise ExportError(f"--pose-models must be one of {', '.join(POSE_MODEL_MODES)}, not {mode!r}")
    return mode


def min_found_fraction(md: ModelFolder) -> float:
    """``config.json``'s ``min_found_fraction`` (checked to be a number in [0, 1]), else the default 0.5."""
    value = md.config.get("min_found_fraction", DEFAULT_MIN_FOUND_FRACTION)
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ExportError(f"{md.path / 'config.json'}: min_found_fraction must be a number from 0 to 1, "
                          f"not {value!r}")
    return float(value)


def landmark_modes(md: ModelFolder) -> dict:
    """``landmark_every`` (the skip modes the head was trained for) and the default, from ``config.json``.

    A head trained before skip modes existed ran on every frame: ``[1]``.
    ``lite_landmarks`` (written only when true): the head also takes the lite
    landmark model's keypoints (:func:`har.edge.pose.lite.choose_landmarks`).
    """
    ks = md.config.get("landmark_every") or [1]
    default = md.config.get("default_landmark_every") or ks[0]
    if (not isinstance(ks, list) or not all(isinstance(k, int) and 1 <= k <= 4 for k in ks)
            or default not in ks):
        raise ExportError(f"{md.path / 'config.json'}: landmark_every must be a list of integers from 1 to 4 "
                          f"holding default_landmark_every, not {ks!r} / {default!r}")
    lite = md.config.get("lite_landmarks", False)
    if not isinstance(lite, bool):
        raise ExportError(f"{md.path / 'config.json'}: lite_landmarks must be true or false, not {lite!r}")
    modes = {"landmark_every": sorted(ks), "default_landmark_every": int(default)}
    return {**modes, "lite_landmarks": True} if lite else modes


def assemble_pose_bundle(md: ModelFolder, out_dir: Path, quant: str, head_file: Path, conv: Conversion,
                         models, pose_models: str = "copy", embedding: dict | None = None) -> Path:
    """Write the head, both pose models (or, with ``pose_models="cache"``, references to the pose cache)
    and ``metadata.json`` into ``out_dir`` (an old bundle is replaced)."""
    from har.edge.pose.features import FEATURE_DIM

    check_pose_models_mode(pose_models)
    with staged_bundle(out_dir) as stage:
        head = stage / MODEL_FILES["head"]
        shutil.copyfile(head_file, head)
        ops = check_builtin_only(head)
        model = TfliteModel(head)
        entries = {"head": model_entry(head, model.input, model.output, ops, quant, embedding=model.embedding_output)}
        for name, src in (("pose_detector", models.detector), ("pose_landmarks", models.landmarks)):
            if pose_models == "cache":
                entries[name] = model_entry(src, *_io(src), [op.name for op in graph_ops(src)], "fp32", POSE_CACHE)
                continue
            dst = stage / MODEL_FILES[name]
            shutil.copyfile(src, dst)
            entries[name] = model_entry(dst, *_io(dst), [op.name for op in graph_ops(dst)], "fp32")
        sampling = md.sampling
        meta = build_metadata(
            labels=md.labels, seq_len=md.seq_len, frame_size=None, sampling_mode=sampling.mode,
            interval_s=sampling.interval_s, quantization=quant, models=entries, encoder_kind="pose",
            pose={"feature_dim": FEATURE_DIM, "features": "har.edge.pose.features.window_features_from_array",
                  "aspect": "frame width / height", "landmarks": 33, "min_found_fraction": min_found_fraction(md),
                  **landmark_modes(md),
                  "models": {"detector": models.detector.name, "landmarks": models.landmarks.name}},
            **provenance(md, conv, quant),
        )
        if embedding:
            meta["embedding"] = embedding
        if pose_models == "copy":
            (stage / NOTICE_FILE).write_text(POSE_NOTICE)
        write_metadata(stage, meta)
    return Path(out_dir)


def export_pose(model_dir: str | Path, out_dir: str | Path, quant: str = "int8", representative_samples: int = 200,
                report: bool = True, log: Callable[[str], None] = log.info,
                features: tuple[np.ndarray, tuple[np.ndarray, np.ndarray]] | None = None,
                pose_models: str = "copy") -> tuple[Path, dict | None]:
    """Export a pose model directory as a bundle; with ``report``, the bundle's head is checked against Keras.

    ``features`` (training features, (test features, test labels)) skips
    reading the model's dataset, for callers that have them already.
    ``pose_models`` is "copy" (into the bundle) or "cache" (the device's pose cache).
    """
    md = load_model_dir(model_dir)
    check_quant(quant)
    check_pose_models_mode(pose_models)
    min_found_fraction(md)
    check_out_dir(out_dir)
    if features is None:
        train_x, (test_x, test_y), models = pose_features(md)
    else:
        (train_x, (test_x, test_y)), models = features, find_pose_models()
    windows = calibration_clips(md, train_x, representative_samples)  # int8 calibration, enroll's references
    work = Path(tempfile.mkdtemp(prefix="har-export-"))
    try:
        log(f"converting {md.path} ({md.family}, pose encoder) to {quant} TFLite")
        conv = convert_models(md, work, [("head", quant)], calibration=windows if quant == "int8" else None,
                              evaluate=test_x if report else None)
        embedding = section_for(conv.files["head", quant], windows, md.labels)
        path = assemble_pose_bundle(md, Path(out_dir), quant, conv.files["head", quant], conv, models, pose_models,
                                    embedding)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    log(f"wrote bundle {path}")
    rep = None
    if report:
        log(f"checking the bundle's head against Keras on {len(test_y)} held-out test windows")
        rep = check_bundle(md, path, conv, test_x, test_y)
        write_report(rep, path)
    return path, rep
