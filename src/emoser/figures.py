"""PNG figures: a confusion matrix with counts and row percentages, and training curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .files import atomic_path  # noqa: E402


def confusion_figure(counts: np.ndarray, classes, title: str):
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    for i in range(counts.shape[0]):
        for j in range(counts.shape[1]):
            ax.text(j, i, f"{counts[i, j]}\n{100 * share[i, j]:.0f}%", ha="center", va="center", fontsize=8,
                    color="white" if share[i, j] > 0.6 else "black")
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("actual")
    ax.set_title(title, fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of actual class")
    fig.tight_layout()
    return fig


def history_figure(history: pd.DataFrame, title: str):
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for column, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(history["epoch"], history[column], label=f"train {column}")
        ax.plot(history["epoch"], history[f"val_{column}"], label=f"val {column}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(column)
        if "best" in history and history["best"].any():
            best = int(history.loc[history["best"], "epoch"].iloc[0])
            ax.axvline(best, color="grey", linestyle=":", label=f"kept (epoch {best})")
        ax.legend()
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def save_figure(fig, path: Path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
