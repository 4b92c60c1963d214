"""Cross-validation results: every fold's confusion, the pooled confusion, and the mean +- std of folds.

Why pooled: a fold's accuracy weighs its test set as one number however
small it is (a 3-window fold scores 0, 0.33, 0.67 or 1), so the mean of
folds is a noisy summary. Pooling adds the folds' confusion matrices, so
every held-out window, and every held-out video (its windows' probabilities
averaged), counts once. Both are reported beside the mean and the
(population) standard deviation over folds, which says how much the recipe
moves from one split to the next.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from har.train.metrics import classification_metrics


def video_votes(probs: np.ndarray, y: np.ndarray, videos: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per video (in first-seen order): its label and the argmax of its windows' mean probabilities."""
    order = list(dict.fromkeys(videos))
    index = {v: i for i, v in enumerate(order)}
    rows = np.asarray([index[v] for v in videos], np.int64)
    mean = np.zeros((len(order), probs.shape[-1]))
    np.add.at(mean, rows, probs)
    truth = np.zeros(len(order), np.int64)
    truth[rows] = y
    return truth, mean.argmax(-1)


def _pooled(y: list[np.ndarray], pred: list[np.ndarray], labels: list[str], unit: str) -> dict:
    y_all = np.concatenate(y) if y else np.zeros(0, np.int64)
    pred_all = np.concatenate(pred) if pred else np.zeros(0, np.int64)
    if not len(y_all):
        return {"count": 0, "unit": unit, "accuracy": None, "macro_f1": None, "confusion": []}
    m = classification_metrics(y_all, pred_all, labels)
    return {"count": int(len(y_all)), "unit": unit, "accuracy": m["accuracy"], "macro_f1": m["macro_f1"],
            "per_class": m["per_class"], "confusion": m["confusion"]}


def pooled(runs, labels: list[str]) -> dict:
    """Pooled results over the test sides of ``runs`` (``FoldRun``), per window and per video.

    ``videos`` is None when a fold does not know which video each window came
    from (the shards input pipeline streams windows without their source, and
    pose heads do not record it).
    """
    ys, preds, vys, vpreds, by_video = [], [], [], [], True
    for r in runs:
        y = r.splits.test[1]
        ys.append(y)
        preds.append(r.probs.argmax(-1) if len(y) else np.zeros(0, np.int64))
        src = r.splits.test_videos
        if src is None or len(src) != len(y):
            by_video = False
            continue
        if len(y):
            t, p = video_votes(r.probs, y, list(src))
            vys.append(t)
            vpreds.append(p)
    return {"windows": _pooled(ys, preds, labels, "window"),
            "videos": _pooled(vys, vpreds, labels, "video") if by_video else None}


def fold_summary(runs, labels: list[str]) -> dict:
    """Per-fold results (with confusion), their mean and standard deviation, and the pooled results."""
    folds = [r.summary() for r in runs]
    acc = [f["test_accuracy"] for f in folds if f["test_accuracy"] is not None]
    f1 = [f["macro_f1"] for f in folds if f["macro_f1"] is not None]
    return {"folds": folds,
            "mean_accuracy": float(np.mean(acc)) if acc else None, "std_accuracy": float(np.std(acc)) if acc else None,
            "mean_macro_f1": float(np.mean(f1)) if f1 else None, "std_macro_f1": float(np.std(f1)) if f1 else None,
            "pooled": pooled(runs, labels)}


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def summary_lines(m: dict) -> list[str]:
    """What ``har train`` prints after the fold lines: mean +- std, then pooled per window and per video."""
    lines = [f"{m['protocol']}, {len(m['folds'])} fold(s): mean accuracy {_num(m['mean_accuracy'])} "
             f"+- {_num(m['std_accuracy'])}  macro-F1 {_num(m['mean_macro_f1'])} +- {_num(m['std_macro_f1'])}"]
    for key in ("windows", "videos"):
        p = (m.get("pooled") or {}).get(key)
        if p is None:
            lines.append(f"pooled over test {key}: n/a (this run does not record each window's video: the shards "
                         "input pipeline and pose heads)")
        else:
            lines.append(f"pooled over {p['count']} test {key}: accuracy {_num(p['accuracy'])}  "
                         f"macro-F1 {_num(p['macro_f1'])}")
    return lines


def _matrix(confusion: list[list[int]], labels: list[str]) -> list[str]:
    rows = ["| true \\ predicted | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
    rows += [f"| {lab} | " + " | ".join(str(v) for v in row) + " |" for lab, row in zip(labels, confusion, strict=True)]
    return rows


def markdown(m: dict, labels: list[str]) -> str:
    """``evaluation.md`` in the model folder: folds, mean +- std, pooled results and matrices, the saved model."""
    out = [f"# {m['model']}: {m['protocol']} cross-validation", "",
           "| fold | test windows | accuracy | macro-F1 | epochs | test groups |", "|---|---|---|---|---|---|"]
    for f in m["folds"]:
        groups = ", ".join(f["test_groups"][:6]) + (" ..." if len(f["test_groups"]) > 6 else "")
        out.append(f"| {f['fold']} | {f['split_sizes']['test']} | {_num(f['test_accuracy'])} | "
                   f"{_num(f['macro_f1'])} | {f['epochs_run']} | {groups} |")
    out += ["", *[f"- {line}" for line in summary_lines(m)], ""]
    for key in ("windows", "videos"):
        p = (m.get("pooled") or {}).get(key)
        if p and p["confusion"]:
            out += [f"Pooled confusion over {p['count']} test {key} (rows: true class):", "",
                    *_matrix(p["confusion"], labels), ""]
    out += [f"The saved model: {m['saved_model']}", ""]
    return "\n".join(out)


def crossval_metrics(cfg, runs: list, labels: list[str], saved) -> dict:
    """metrics.json's cross-validation part; the saved model's own fields say it was not tested."""
    n = sum(saved.splits.sizes().values())
    videos = len(saved.fold.train) + len(saved.fold.val)
    return {**fold_summary(runs, labels), "model_trained_on": "all",
            "saved_model": (f"trained on all the data after cross-validation: {videos} videos ({n} clips), "
                            f"{len(saved.fold.val)} of them watched by early stopping; nothing was held out, so "
                            "it has no test accuracy (the folds' figures describe the recipe)"),
            "evaluated_on": (f"{len(runs)} held-out fold(s) of protocol {cfg.protocol} (group-disjoint): "
                             "pooled over every test window and video, and mean +- std over folds")}


def write_crossval_report(path: Path, metrics: dict, labels: list[str]) -> None:
    """``evaluation.md`` beside metrics.json, and ``confusion.png`` from the pooled windows."""
    from har.train import plots

    m = {**json.loads((path / "metrics.json").read_text()), **metrics}
    (path / "evaluation.md").write_text(markdown(m, labels))
    pooled = m["pooled"]["windows"]
    if pooled["confusion"]:
        plots.confusion_matrix(np.asarray(pooled["confusion"]), labels, path / "confusion.png")
