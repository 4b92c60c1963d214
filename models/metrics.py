"""Classification metrics in plain numpy (no scikit-learn dependency), shared by training, export and bench."""

from __future__ import annotations

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    m = np.zeros((n, n), dtype=np.int64)
    np.add.at(m, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return m


def classification_metrics(y_true, y_pred, labels: list[str]) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    m = confusion(y_true, y_pred, len(labels))
    tp = np.diag(m).astype(float)
    pred_n, true_n = m.sum(0).astype(float), m.sum(1).astype(float)
    prec = np.divide(tp, pred_n, out=np.zeros_like(tp), where=pred_n > 0)
    rec = np.divide(tp, true_n, out=np.zeros_like(tp), where=true_n > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
    present = true_n > 0
    return {
        "accuracy": float(tp.sum() / max(len(y_true), 1)),
        "macro_f1": float(f1[present].mean()) if present.any() else 0.0,
        "per_class": {
            lab: {"precision": float(prec[i]), "recall": float(rec[i]), "f1": float(f1[i]), "support": int(true_n[i])}
            for i, lab in enumerate(labels)
        },
        "confusion": m.tolist(),
    }


def compare(probs: np.ndarray, reference: np.ndarray | None, y: np.ndarray, labels: list[str]) -> dict:
    """Accuracy and macro-F1 on ``y``; agreement and max |diff| against ``reference`` probabilities."""
    if not len(y):
        return {"test_accuracy": None, "macro_f1": None, "agreement_with_keras": None, "max_abs_diff": None}
    m = classification_metrics(y, probs.argmax(-1), labels)
    out = {"test_accuracy": m["accuracy"], "macro_f1": m["macro_f1"]}
    if reference is not None:
        out["agreement_with_keras"] = float((probs.argmax(-1) == reference.argmax(-1)).mean())
        out["max_abs_diff"] = float(np.abs(probs - reference).max())
    return out
