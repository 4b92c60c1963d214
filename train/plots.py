"""Figures: training curves (the seed's figures 4, 5, 8, 9), confusion matrix, sample grid."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def curves(history: dict, path: Path, title: str = "") -> None:
    """Loss and accuracy, training vs validation, side by side."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, name in ((axes[0], "loss", "Loss"), (axes[1], "accuracy", "Accuracy")):
        epochs = np.arange(1, len(history.get(key, [])) + 1)
        ax.plot(epochs, history.get(key, []), color="blue", label=f"Total {name}")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], color="red", label=f"Total Validation {name}")
        ax.set_title(f"Total {name} vs Total Validation {name}")
        ax.set_xlabel("epoch")
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def confusion_matrix(m: np.ndarray, labels: list[str], path: Path) -> None:
    plt = _plt()
    fig, ax = plt.subplots(figsize=(1.2 + 0.7 * len(labels), 1 + 0.6 * len(labels)))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            ax.text(j, i, str(m[i, j]), ha="center", va="center", color="white" if m[i, j] > m.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (test split)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def sample_grid(samples: list[tuple[str, np.ndarray]], path: Path, cols: int = 4) -> None:
    """One RGB frame per sample with its label above it (the seed's step 1)."""
    plt = _plt()
    rows = max(1, -(-len(samples) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(3 * cols, 3 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (label, frame) in zip(axes.flat, samples, strict=False):
        ax.imshow(frame)
        ax.set_title(label)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
