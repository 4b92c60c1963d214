"""Score a bundle on a labelled folder of real videos, window by window and clip by clip, on the device.

Why on the device side: zero-shot accuracy is about the bundle the device
runs (quantized head, the same sampling, padding and "nobody there" rule),
and it must be measurable where TensorFlow is not installed. Two views:

* **restricted**: the answer is the best of the folder's own classes (what a
  "5-class zero-shot" figure means: chance is 1 / number of classes);
* **open**: the answer is the top label over the bundle's whole vocabulary
  (what a user in front of a camera gets).

Windows in which too few frames had a pose get no answer and count as wrong
(reported separately). Clips are scored by the mean of their windows.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from har.edge.bundle import Bundle
from har.edge.capture import VIDEO_EXTS
from har.edge.vocabulary import map_class


@dataclass
class ClipResult:
    path: str
    truth: str  # the folder's class name
    target: str | None  # the bundle label it maps to
    windows: int
    no_pose: int
    open_hits: int
    restricted_hits: int
    clip_open: str | None
    clip_restricted: str | None
    said: dict = field(default_factory=dict)  # label -> windows


def list_labelled(root: Path) -> list[tuple[Path, str]]:
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"{root} is not a folder of class folders")
    out = [(f, d.name) for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
           for f in sorted(d.rglob("*")) if f.is_file() and f.suffix.lower() in VIDEO_EXTS]
    if not out:
        raise FileNotFoundError(f"no videos under {root}; expected <root>/<class>/<video>")
    return out


def evaluate(bundle: Bundle, root: Path, classifier, windows_of, extra: dict[str, str] | None = None,
             stride: int = 1, on_clip=None) -> dict:
    """Run ``classifier`` over every clip under ``root``; ``windows_of(path)`` yields its windows."""
    labels = bundle.labels
    clips = list_labelled(root)
    targets = {c: map_class(c, labels, extra) for c in sorted({c for _, c in clips})}
    allowed = sorted({t for t in targets.values() if t})
    idx = np.array([labels.index(t) for t in allowed], int)
    results = []
    for path, cls in clips:
        target = targets[cls]
        probs, said, no_pose = [], Counter(), 0
        for k, window in enumerate(windows_of(path)):
            if k % stride:
                continue
            p = np.asarray(classifier.classify(window), np.float64)
            if np.ptp(p) < 1e-9:  # uniform: too few poses in the window, no answer
                no_pose += 1
                said["(no pose)"] += 1
                continue
            probs.append(p)
            said[labels[int(p.argmax())]] += 1
        n = len(probs) + no_pose
        r = ClipResult(str(path), cls, target, n, no_pose, 0, 0, None, None, dict(said))
        if probs:
            arr = np.stack(probs)
            mean = arr.mean(axis=0)
            r.clip_open = labels[int(mean.argmax())]
            if len(idx):
                r.clip_restricted = allowed[int(mean[idx].argmax())]
                r.restricted_hits = int(sum(allowed[int(a)] == target for a in arr[:, idx].argmax(axis=1)))
            r.open_hits = int(sum(labels[int(a)] == target for a in arr.argmax(axis=1)))
        results.append(r)
        if on_clip:
            on_clip(r)
    return summarize(results, allowed)


def summarize(results: list[ClipResult], allowed: list[str]) -> dict:
    scored = [r for r in results if r.target]
    windows = sum(r.windows for r in scored)
    per_class = defaultdict(lambda: {"clips": 0, "windows": 0, "restricted": 0, "open": 0, "clip_open": 0,
                                     "clip_restricted": 0, "said": Counter()})
    for r in results:
        c = per_class[r.truth]
        c["target"] = r.target
        c["clips"] += 1
        c["windows"] += r.windows
        c["restricted"] += r.restricted_hits
        c["open"] += r.open_hits
        c["clip_open"] += r.clip_open == r.target and r.target is not None
        c["clip_restricted"] += r.clip_restricted == r.target and r.target is not None
        c["said"].update(r.said)

    def ratio(a, b):
        return round(a / b, 4) if b else None

    return {
        "classes": allowed, "chance_restricted": ratio(1, len(allowed)),
        "clips": len(scored), "windows": windows, "windows_without_pose": sum(r.no_pose for r in scored),
        "window_accuracy_restricted": ratio(sum(r.restricted_hits for r in scored), windows),
        "window_accuracy_open": ratio(sum(r.open_hits for r in scored), windows),
        "clip_accuracy_restricted": ratio(sum(r.clip_restricted == r.target for r in scored), len(scored)),
        "clip_accuracy_open": ratio(sum(r.clip_open == r.target for r in scored), len(scored)),
        "per_class": {k: {**v, "said": dict(v["said"].most_common())} for k, v in sorted(per_class.items())},
        "unmapped_classes": sorted({r.truth for r in results if not r.target}),
    }


def render(summary: dict) -> str:
    """The summary as a short text report (a Markdown table per class)."""
    s = summary
    lines = [f"{s['clips']} clips, {s['windows']} windows ({s['windows_without_pose']} without enough pose) over "
             f"{len(s['classes'])} classes (chance {s['chance_restricted']})",
             f"window accuracy: {s['window_accuracy_restricted']} restricted to these classes, "
             f"{s['window_accuracy_open']} over the whole vocabulary",
             f"clip accuracy:   {s['clip_accuracy_restricted']} restricted, {s['clip_accuracy_open']} whole vocabulary",
             "", "| class | as | clips | windows | window acc (restricted / open) | clips right (open) | said most |",
             "|---|---|---:|---:|---:|---:|---|"]
    for name, c in s["per_class"].items():
        w = c["windows"] or 1
        said = ", ".join(f"{k} {v}" for k, v in list(c["said"].items())[:3])
        acc = f"{c['restricted'] / w:.2f} / {c['open'] / w:.2f}" if c["target"] else "-"
        lines.append(f"| {name} | {c['target'] or '(not in vocabulary)'} | {c['clips']} | {c['windows']} | {acc} | "
                     f"{c['clip_open'] if c['target'] else '-'} | {said} |")
    if s["unmapped_classes"]:
        lines.append(f"\nnot in the vocabulary (left out of the accuracies): {', '.join(s['unmapped_classes'])}; "
                     "map them with --map NAME=LABEL")
    return "\n".join(lines)


def write_json(summary: dict, path: Path) -> None:
    Path(path).write_text(json.dumps(summary, indent=2) + "\n")
