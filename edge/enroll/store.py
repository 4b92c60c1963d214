"""The enrolment file: a user's own labels, as embeddings of their example recordings, bound to one bundle.

Why a file of embeddings and not of clips: it is what the device compares
windows with, it is small (a few KB for a label of five examples) and it
moves between devices with ``har-edge enroll --export/--import``. Why bound
to the bundle: an embedding means something only to the model that made it,
so the file records the sha256 of the bundle's ``metadata.json`` (which
itself holds the sha256 of every model file) and another bundle refuses it
in one sentence instead of matching nonsense. The file carries the sha256 of
its own content, so an edited or truncated file is refused too.

Where it lives: ``enrolment.json`` beside the bundle, or, for the default
model shipped inside the package (whose folder is not the user's to write)
and bundles in read-only folders, ``$XDG_DATA_HOME/har-edge/`` (default
``~/.local/share/har-edge/``) as ``enrolment-<bundle sha256[:12]>.json``.
``HAR_EDGE_ENROLMENT`` names another file for every command.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from har.edge.bundle import METADATA_FILE, Bundle
from har.edge.errors import HarError

SCHEMA = "har-edge.enrolment"
SCHEMA_VERSION = 1
FILE_NAME = "enrolment.json"
ENV = "HAR_EDGE_ENROLMENT"
MAX_BYTES = 16 << 20
MAX_LABEL_CHARS = 64


class EnrolmentError(HarError, ValueError):
    """An enrolment file or request that cannot be used; the message says why in one sentence."""


def bundle_sha256(bundle: Bundle) -> str:
    """The bundle's identity: sha256 of its ``metadata.json`` (which lists the sha256 of every model file)."""
    return hashlib.sha256((bundle.path / METADATA_FILE).read_bytes()).hexdigest()


def default_path(bundle: Bundle) -> Path:
    """Where ``bundle``'s enrolment lives (see the module docstring)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    beside = bundle.path / FILE_NAME
    if beside.exists() or (_writable(bundle.path) and not _is_package_default(bundle)):
        return beside
    data = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "har-edge"
    return data / f"enrolment-{bundle_sha256(bundle)[:12]}.json"


def _writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def _is_package_default(bundle: Bundle) -> bool:
    import har.edge.default_model as dm

    return bundle.path.resolve() == Path(dm.__file__).resolve().parent


def check_label(label: str) -> str:
    """A label must be a short name: it becomes an MQTT topic and a Home Assistant entity."""
    label = (label or "").strip()
    if not label or len(label) > MAX_LABEL_CHARS or any(c in label for c in "/#+\n\r\t") or not label.isprintable():
        raise EnrolmentError(f"label {label!r} must be 1 to {MAX_LABEL_CHARS} printable characters without "
                             "'/', '#' or '+' (it becomes an MQTT topic)")
    return label


@dataclass
class Example:
    """One recording: its embedding (mean of its windows' unit embeddings) and what produced it."""

    embedding: np.ndarray
    source: str
    start_s: float | None = None
    end_s: float | None = None
    windows: int = 1
    recorded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict:
        return {"embedding": [round(float(v), 6) for v in self.embedding], "source": self.source,
                "start_s": self.start_s, "end_s": self.end_s, "windows": self.windows,
                "recorded_at": self.recorded_at}


@dataclass
class Enrolment:
    """All enrolled labels of one bundle: label -> examples."""

    bundle_sha256: str
    dim: int
    labels: dict[str, list[Example]] = field(default_factory=dict)
    producer: dict = field(default_factory=dict)

    def examples(self) -> dict[str, np.ndarray]:
        """label -> ``(n, dim)`` float32 embeddings."""
        return {k: np.stack([e.embedding for e in v]).astype(np.float32) for k, v in self.labels.items() if v}

    def to_dict(self) -> dict:
        from har.edge import __version__

        body = {"schema": SCHEMA, "schema_version": SCHEMA_VERSION, "har_version": __version__,
                "bundle_sha256": self.bundle_sha256, "embedding_dim": self.dim, "producer": self.producer,
                "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
                "labels": {k: {"examples": [e.to_dict() for e in v]} for k, v in self.labels.items()}}
        return {**body, "sha256": content_sha256(body)}


def content_sha256(body: dict) -> str:
    """sha256 of the canonical JSON of everything but the ``sha256`` field itself."""
    data = {k: v for k, v in body.items() if k != "sha256"}
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"),
                                     ensure_ascii=False).encode()).hexdigest()


def new_enrolment(bundle: Bundle) -> Enrolment:
    from har.edge import __version__

    if bundle.embedding_dim is None:
        raise EnrolmentError(f"bundle {bundle.path} has no embedding output, so it cannot learn new labels; "
                             "re-export it with this version of har")
    model = "head" if bundle.head_embeds else "embed"
    return Enrolment(bundle_sha256(bundle), bundle.embedding_dim,
                     producer={"bundle": str(bundle.path), "encoder": bundle.encoder_kind,
                               "embedding": model, "embed_sha256": bundle.models[model].sha256,
                               "har_version": __version__})


def read(path: str | Path, bundle: Bundle) -> Enrolment:
    """Read and check ``path`` for ``bundle``; :class:`EnrolmentError` says what is wrong in one sentence."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise EnrolmentError(f"{path} is over {MAX_BYTES >> 20} MiB, far more than an enrolment file")
        data = json.loads(path.read_bytes().decode("utf-8"))
    except FileNotFoundError:
        raise EnrolmentError(f"enrolment file {path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise EnrolmentError(f"{path} is not a valid enrolment file (not JSON); enrol again or import an "
                             "export of it") from None
    except OSError as e:
        raise EnrolmentError(f"cannot read enrolment file {path}: {e.strerror or e}") from None
    return parse(data, bundle, str(path))


def parse(data: Any, bundle: Bundle, where: str) -> Enrolment:
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise EnrolmentError(f"{where} is not a har-edge enrolment file")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise EnrolmentError(f"{where} has enrolment schema version {data.get('schema_version')!r} but this "
                             f"har-edge reads version {SCHEMA_VERSION}; enrol again with this version")
    if data.get("sha256") != content_sha256(data):
        raise EnrolmentError(f"{where} was changed after har-edge wrote it (its sha256 does not match its "
                             "content); enrol again or import a fresh export")
    mine = bundle_sha256(bundle)
    if data.get("bundle_sha256") != mine:
        theirs = str(data.get("bundle_sha256"))[:12]
        raise EnrolmentError(f"{where} was made with another model (bundle {theirs}..., this one is "
                             f"{mine[:12]}...); embeddings only mean something to the model that made them, "
                             "so enrol again with this bundle")
    dim = bundle.embedding_dim
    if dim is None or data.get("embedding_dim") != dim:
        raise EnrolmentError(f"{where} holds {data.get('embedding_dim')!r}-long embeddings but bundle "
                             f"{bundle.path} makes {dim}; enrol again with this bundle")
    labels = data.get("labels")
    if not isinstance(labels, dict):
        raise EnrolmentError(f"{where} has no 'labels' object")
    out: dict[str, list[Example]] = {}
    for name, entry in labels.items():
        check_label(name)
        examples = entry.get("examples") if isinstance(entry, dict) else None
        if not isinstance(examples, list) or not examples:
            raise EnrolmentError(f"{where}: label {name!r} has no examples")
        out[name] = [_example(e, dim, name, where) for e in examples]
    return Enrolment(mine, dim, out, data.get("producer") if isinstance(data.get("producer"), dict) else {})


def _example(e: Any, dim: int, name: str, where: str) -> Example:
    vec = e.get("embedding") if isinstance(e, dict) else None
    if (not isinstance(vec, list) or len(vec) != dim
            or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in vec)):
        raise EnrolmentError(f"{where}: an example of {name!r} is not {dim} finite numbers")
    start, end = e.get("start_s"), e.get("end_s")
    return Example(np.asarray(vec, np.float32), str(e.get("source", "?")),
                   float(start) if isinstance(start, int | float) else None,
                   float(end) if isinstance(end, int | float) else None,
                   int(e.get("windows", 1)) if isinstance(e.get("windows"), int) else 1,
                   str(e.get("recorded_at", "")))


def load_or_new(path: Path, bundle: Bundle) -> Enrolment:
    return read(path, bundle) if path.exists() else new_enrolment(bundle)


def write(path: str | Path, enrolment: Enrolment) -> Path:
    """Write atomically (a running ``har-edge run`` never reads half a file)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".enrolment-", suffix=".json")
        with os.fdopen(fd, "w") as f:
            json.dump(enrolment.to_dict(), f, indent=1, ensure_ascii=False)
            f.write("\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        raise EnrolmentError(f"cannot write enrolment file {path}: {e.strerror or e}") from None
    return path


def merged(base: Enrolment, other: Enrolment) -> Enrolment:
    """``base`` with ``other``'s labels added; a label in both takes ``other``'s examples."""
    out = copy.deepcopy(base)
    out.labels.update(copy.deepcopy(other.labels))
    return out
