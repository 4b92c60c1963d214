"""The bundle: the one artefact that travels from the workstation to the device.

A bundle is a directory::

    model.tflite     whole-window model: (1, seq_len, H, W, 3) -> class probabilities
    encoder.tflite   streaming encoder: one (1, H, W, 3) frame -> its feature vector
    head.tflite      streaming head: (1, seq_len, F) features -> class probabilities, and (bundles exported
                     since the head carries it) a second output named ``embedding``: the head's penultimate
                     layer (its LSTM state), which ``har-edge enroll`` compares windows with (har.edge.enroll)
    embed.tflite     older bundles only: the same embedding as a model of its own, a second pass over the window
    metadata.json    everything the device must do exactly as training did

A *pose* bundle (``"encoder": "pose"``, schema version 2) has no pixel model:
``head.tflite`` reads ``(1, seq_len, F)`` keypoint features
(``har.edge.pose.features``), and the two BlazePose models it needs,
``pose_detector.tflite`` and ``pose_landmarks.tflite``, travel inside the
bundle with their sha256 like every other file, so the device needs nothing
else. Or, in a bundle exported with ``--pose-models cache`` (the default
model that ships with the package is one, tens of KB instead of 9 MB), their
entries say ``"source": "pose-cache"``: no file in the folder, the same sha256,
tensors and ops, and the loader takes the pinned files from the verified pose
cache (:mod:`har.edge.pose.assets`), fetching them first on an interactive
run. Pixel bundles are still written as version 1, so a device with an older
har-edge keeps reading them; this reader takes both versions.

Why one package for both sides: ``har export`` writes bundles with
:func:`build_metadata` / :func:`write_metadata` (:mod:`.write`), and the
device reads them with :func:`load_bundle` (:mod:`.parse` checks the
metadata, :mod:`.load` the files and tensors), so the two cannot drift
apart. It needs only the standard library and the LiteRT runtime
(:mod:`har.edge.litert`): a Raspberry Pi without TensorFlow can validate a
bundle. :mod:`.describe` puts one in words for ``har-edge info``.

Validation is strict because a wrong bundle fails silently otherwise: a model
file swapped or truncated on the SD card, labels that no longer match the
model's outputs, or a sampling rule the model was not trained with all give
confident nonsense instead of an error. So the metadata is checked against
itself, every file against its sha256, and every model's real input and
output tensors (shape, dtype, quantization) against the metadata, since a
hash only proves the file is the one the metadata names, not that the
metadata describes it. Every refusal is one sentence that says what is wrong
and what to do.
"""

from har.edge.bundle.load import load_bundle
from har.edge.bundle.schema import (
    COLOR_ORDERS,
    DEFAULT_MIN_FOUND_FRACTION,
    EDGETPU_SUFFIX,
    ENCODER_KINDS,
    MAX_FRAME_SIZE,
    MAX_INTERVAL_S,
    MAX_METADATA_BYTES,
    MAX_SEQ_LEN,
    MAX_WINDOW_BYTES,
    METADATA_FILE,
    MODEL_FILES,
    MODEL_SOURCES,
    PIXEL_SCHEMA_VERSION,
    POSE_CACHE,
    POSE_CACHE_FILES,
    POSE_MODELS,
    QUANT_MODES,
    READABLE_VERSIONS,
    SAMPLING_MODES,
    SCHEMA,
    SCHEMA_VERSION,
    Bundle,
    BundleError,
    ModelInfo,
)
from har.edge.bundle.write import add_model, build_metadata, model_entry, write_metadata
from har.edge.digest import sha256_file
from har.edge.litert import EMBEDDING_OUTPUT, TensorInfo

__all__ = [
    "COLOR_ORDERS", "DEFAULT_MIN_FOUND_FRACTION", "EDGETPU_SUFFIX", "EMBEDDING_OUTPUT", "ENCODER_KINDS", "MAX_FRAME_SIZE",
    "MAX_INTERVAL_S", "MAX_METADATA_BYTES", "MAX_SEQ_LEN", "MAX_WINDOW_BYTES", "METADATA_FILE", "MODEL_FILES",
    "MODEL_SOURCES", "PIXEL_SCHEMA_VERSION", "POSE_CACHE", "POSE_CACHE_FILES", "POSE_MODELS", "QUANT_MODES",
    "READABLE_VERSIONS", "SAMPLING_MODES", "SCHEMA", "SCHEMA_VERSION", "Bundle", "BundleError", "ModelInfo",
    "TensorInfo", "add_model", "build_metadata", "load_bundle", "model_entry", "sha256_file", "write_metadata",
]
