"""What a bundle is: its constants, its error, and the validated :class:`Bundle` record."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from har.edge.errors import HarError
from har.edge.litert import TensorInfo

SCHEMA = "har-edge.bundle"
SCHEMA_VERSION = 2  # the newest this har-edge writes and reads
READABLE_VERSIONS = (1, 2)  # 2 added pose bundles; pixel bundles are still written as 1
PIXEL_SCHEMA_VERSION = 1
METADATA_FILE = "metadata.json"
#: Logical model name -> file name inside the bundle.
MODEL_FILES = {"window": "model.tflite", "encoder": "encoder.tflite", "head": "head.tflite",
               "embed": "embed.tflite", "pose_detector": "pose_detector.tflite", "pose_landmarks": "pose_landmarks.tflite"}
#: Models a pose bundle must have; it has no pixel model (window, encoder).
POSE_MODELS = ("head", "pose_detector", "pose_landmarks")
#: Pose model -> the pinned file of the pose cache it must be (``har.edge.pose.assets.ASSETS``).
POSE_CACHE_FILES = {"pose_detector": "pose_detection.tflite", "pose_landmarks": "pose_landmark_full.tflite"}
#: ``models.<name>.source``: the file is in the bundle folder (the default) or in the verified pose cache.
MODEL_SOURCES = ("bundle", "pose-cache")
POSE_CACHE = "pose-cache"
EDGETPU_SUFFIX = "_edgetpu"
QUANT_MODES = ("int8", "dynamic", "fp16", "fp32")
ENCODER_KINDS = ("cnn", "pose")
COLOR_ORDERS = ("RGB",)
SAMPLING_MODES = ("interval", "uniform")
#: A pose window with a pose in fewer than this share of its frames gets no label (metadata may say otherwise).
DEFAULT_MIN_FOUND_FRACTION = 0.5
#: Limits far above any real model that keep a bad metadata.json from exhausting memory before it is refused.
MAX_METADATA_BYTES = 4 << 20
MAX_SEQ_LEN = 1024
MAX_FRAME_SIZE = 1024
MAX_WINDOW_BYTES = 1 << 30  # one window of uint8 frames, seq_len * frame_size**2 * 3
MAX_INTERVAL_S = 60.0



class BundleError(HarError, ValueError):
    """A bundle that cannot be used; the message is one sentence saying why."""


@dataclass(frozen=True)
class ModelInfo:
    """One model file of a bundle, as recorded in ``metadata.json``."""

    name: str
    file: str
    sha256: str
    bytes: int
    input: TensorInfo
    output: TensorInfo
    ops: tuple[str, ...]
    quantization: str | None = None  # per model: an int8 bundle keeps its LSTM head in fp32
    source: str = "bundle"  # "pose-cache": the pinned file in the pose cache, not in the bundle folder
    embedding: TensorInfo | None = None  # the head's second output (EMBEDDING_OUTPUT), when it has one


@dataclass(frozen=True)
class Bundle:
    """A validated bundle. Build it with :func:`load_bundle`, never by hand."""

    path: Path
    metadata: dict = field(repr=False)
    labels: list[str]
    seq_len: int
    frame_size: int | None  # frames are frame_size x frame_size; None for pose (full frames to the estimator)
    color_order: str
    normalization: str
    sampling_mode: str  # "interval" or "uniform"
    interval_s: float | None  # seconds between sampled frames; None for "uniform"
    quantization: str
    encoder_kind: str  # "cnn" (pixels) or "pose" (keypoint features)
    models: dict[str, ModelInfo]
    source_metrics: dict
    schema_version: int = PIXEL_SCHEMA_VERSION
    pose_cache: Path | None = None  # where models with source "pose-cache" were found, verified

    @property
    def pose_models_source(self) -> str | None:
        """"bundle" or "pose-cache": where a pose bundle's two pose models come from (None: not a pose bundle)."""
        if not self.is_pose:
            return None
        return POSE_CACHE if self.models["pose_detector"].source == POSE_CACHE else "bundle"

    @property
    def background_labels(self) -> list[str]:
        """Labels meaning "no action" unless the config names others: ``idle`` and the like (har.edge.vocabulary)."""
        from har.edge.vocabulary import BACKGROUND_NAMES, normalize

        return [lab for lab in self.labels if normalize(lab) in BACKGROUND_NAMES]

    @property
    def min_found_fraction(self) -> float:
        """Share of a window's frames that must have a pose for a label (``pose.min_found_fraction``, 0.5)."""
        return float((self.metadata.get("pose") or {}).get("min_found_fraction", DEFAULT_MIN_FOUND_FRACTION))

    @property
    def is_pose(self) -> bool:
        """True for a keypoint bundle: pose models + a head on their features, no pixel model."""
        return self.encoder_kind == "pose"

    @property
    def has_streaming(self) -> bool:
        """True when the bundle has the encoder/head pair for streaming inference."""
        return "encoder" in self.models and "head" in self.models

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    @property
    def feature_dim(self) -> int | None:
        """Length of the per-frame feature vector the head reads (None without streaming or pose)."""
        if self.is_pose:
            return self.models["head"].input.shape[-1]
        return self.models["encoder"].output.shape[-1] if self.has_streaming else None

    @property
    def head_embeds(self) -> bool:
        """True when the head's own invocation gives the window embedding (its second output)."""
        return "head" in self.models and self.models["head"].embedding is not None

    @property
    def embedding_dim(self) -> int | None:
        """Length of the window embedding that ``har-edge enroll`` compares (None: the bundle has none)."""
        if self.head_embeds:
            return self.models["head"].embedding.shape[-1]
        return self.models["embed"].output.shape[-1] if "embed" in self.models else None

    def model_file(self, name: str, delegate: str | None = None) -> Path:
        """Path of model ``name`` ("window", "encoder" or "head").

        With ``delegate="edgetpu"`` the Edge TPU-compiled copy
        (``<name>_edgetpu``, see docs/edgetpu.md) is returned: the Edge TPU
        delegate only runs models compiled for it.
        """
        key = name + EDGETPU_SUFFIX if delegate == "edgetpu" else name
        if key not in self.models:
            if delegate == "edgetpu" and name == "window":
                raise BundleError("the Edge TPU runs the streaming encoder, not the whole-window model: use streaming "
                                  "with an Edge TPU-compiled encoder (docs/edgetpu.md)")
            if delegate == "edgetpu" and name in self.models:
                raise BundleError(f"bundle {self.path} has no Edge TPU-compiled {name} model; compile "
                                  f"{MODEL_FILES[name]} with edgetpu_compiler and add it as docs/edgetpu.md describes")
            raise BundleError(f"bundle {self.path} has no {name!r} model (it has: {', '.join(self.models)})")
        info = self.models[key]
        return (self.pose_cache if info.source == POSE_CACHE else self.path) / info.file
