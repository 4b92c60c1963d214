"""Start a pose head from another one (``--init``) and mix generated motion into real data (``--mix-motion``).

Why: a small real dataset (a few people, a few classes) is not enough to
learn human motion from scratch, but it is enough to adapt a head that
already knows it. ``--init default`` starts from the head that ships with
har-edge (its float weights travel beside it as ``head.weights.npz``);
``--init DIR`` from any trained pose model folder. Every layer is copied;
the output layer's rows are copied for classes whose names map onto the
initial head's labels (``har.edge.vocabulary``: ``handwaving`` is
``wave_two_hands``), and start fresh for the rest.

``--mix-motion F`` adds generated windows of the classes the vocabulary
knows, ``F`` times as many as the real training windows, drawn from
generated actors that no shipped model was trained on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from har.train.errors import TrainError

log = logging.getLogger(__name__)
WEIGHTS_FILE = "head.weights.npz"
MIX_FIRST_ACTOR = 5000  # generated people the default model never saw


def default_model_dir() -> Path:
    from har.edge.default_model import default_bundle_path

    return default_bundle_path()


def save_weights(model, path: Path) -> Path:
    """The head's weights as float16 arrays named ``<layer>/<index>`` plus its labels: small enough to ship."""
    arrays = {f"{layer.name}/{i}": w.astype(np.float16) for layer in model.layers
              for i, w in enumerate(layer.get_weights())}
    np.savez_compressed(path, **arrays)
    return path


def _initial(init: str) -> tuple[dict[str, list[np.ndarray]], list[str]]:
    """Weights by layer name and labels of ``init`` ('default' or a model folder)."""
    src = default_model_dir() if init == "default" else Path(init)
    weights = src / WEIGHTS_FILE
    if not weights.is_file():
        what = "the default model" if init == "default" else f"{src}"
        raise TrainError(f"{what} has no {WEIGHTS_FILE} to start from; train it with this version of har "
                         "(`make pose-default`, or `har train --encoder pose`) first")
    labels_file = src / "labels.json"
    labels = (json.loads(labels_file.read_text()) if labels_file.is_file()
              else json.loads((src / "metadata.json").read_text())["labels"])
    layers: dict[str, list[np.ndarray]] = {}
    with np.load(weights) as z:
        for key in sorted(z.files, key=lambda k: (k.rsplit("/", 1)[0], int(k.rsplit("/", 1)[1]))):
            layers.setdefault(key.rsplit("/", 1)[0], []).append(z[key].astype(np.float32))
    return layers, labels


def init_head(model, init: str, labels: list[str]) -> dict:
    """Copy ``init``'s weights into ``model`` (built for ``labels``); returns what was copied, for metrics.json."""
    from har.edge.vocabulary import map_class

    layers, src_labels = _initial(init)
    out_layer = model.layers[-1]
    copied, mapped = [], {}
    for layer in model.layers:
        src = layers.get(layer.name)
        if src is None or not layer.weights:
            continue
        dst = layer.get_weights()
        if layer is out_layer:
            for j, lab in enumerate(labels):
                target = map_class(lab, src_labels)
                if target is not None and src[0].shape[0] == dst[0].shape[0]:
                    i = src_labels.index(target)
                    dst[0][:, j], dst[1][j] = src[0][:, i], src[1][i]
                    mapped[lab] = target
            layer.set_weights(dst)
            continue
        if [w.shape for w in src] != [w.shape for w in dst]:
            raise TrainError(f"--init {init}: layer {layer.name!r} has other shapes there "
                             f"({[w.shape for w in src]} vs {[w.shape for w in dst]}); the heads must match")
        layer.set_weights(src)
        copied.append(layer.name)
    log.info("initialised from %s: layers %s; output rows for %s", init, ", ".join(copied) or "none",
             ", ".join(f"{k}<-{v}" for k, v in mapped.items()) or "no class")
    return {"init": init, "init_layers": copied, "init_classes": mapped}


def motion_windows(labels: list[str], n: int, seq_len: int, interval_s: float, min_found: float, seed: int
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """About ``n`` generated windows for the classes of ``labels`` the vocabulary knows: (poses, aspects, y, map)."""
    from har.edge.vocabulary import map_class
    from har.train.motion import ACTIONS
    from har.train.motion.windows import generated_windows

    known = {lab: a for lab in labels if (a := map_class(lab, sorted(ACTIONS))) is not None}
    if not known or n < 1:
        return np.zeros((0, seq_len, 33, 5), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int32), known
    index = np.array([labels.index(lab) for lab in known])  # action order -> the user's class index
    parts, g = [], MIX_FIRST_ACTOR
    while sum(len(p.y) for p in parts) < n:  # one generated person at a time until there are enough windows
        parts.append(generated_windows(list(known.values()), range(g, g + 1), seed, seq_len, interval_s,
                                       per_take=4, min_found=min_found))
        g += 1
    poses = np.concatenate([p.landmarks for p in parts])[:n]
    aspects = np.concatenate([p.aspects for p in parts])[:n]
    return poses, aspects, index[np.concatenate([p.y for p in parts])][:n].astype(np.int32), known
