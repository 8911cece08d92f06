"""PNG figures: a confusion matrix with counts and row percentages, and training curves."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt  # the backend is Agg: emoser.core.runtime set MPLBACKEND
import numpy as np
import pandas as pd

from emoser.core.files import atomic_path
from emoser.evaluation.scoring import confusion


def draw_confusion(ax, counts: np.ndarray, classes, title: str):
    """Counts and row percentages per cell, coloured by share of the actual class."""
    rows = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=float), where=rows > 0)
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
    return image


def confusion_figure(counts: np.ndarray, classes, title: str):
    fig, ax = plt.subplots(figsize=(7.5, 6.5))
    image = draw_confusion(ax, counts, classes, title)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="share of actual class")
    fig.tight_layout()
    return fig


def confusion_panel(predictions: pd.DataFrame, title: str, classes, actual: str = "emotion"
                    ) -> tuple[np.ndarray, str]:
    """A panel for ``confusion_grid``: the confusion counts of a table's rows over ``classes`` (the
    actual emotion in column ``actual``: ``emotion`` in predictions tables, ``actual`` in
    plots/*/confusion.csv; the predicted one in ``predicted``), titled."""
    index = {name: i for i, name in enumerate(classes)}
    return confusion(predictions[actual].map(index), predictions["predicted"].map(index), len(index)), title


def confusion_grid(panels: list[tuple[np.ndarray, str]], classes, columns: int = 3):
    """Several confusion matrices side by side, for comparing models on one protocol."""
    rows = -(-len(panels) // columns)
    columns = min(columns, len(panels))
    fig, axes = plt.subplots(rows, columns, figsize=(6.2 * columns, 5.8 * rows), squeeze=False)
    for ax, (counts, title) in zip(axes.flat, panels):
        draw_confusion(ax, counts, classes, title)
    for ax in axes.flat[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    return fig


def reliability_figure(panels: dict[str, dict[str, pd.DataFrame]], title: str):
    """Reliability diagrams, one panel per model: accuracy against mean confidence per confidence bin
    for each kind of probabilities (raw, calibrated), marker area by recordings; the diagonal is
    perfect calibration (below it: overconfident, above: underconfident)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 5.0), squeeze=False)
    for ax, (name, kinds) in zip(axes.flat, panels.items()):
        ax.plot([0, 1], [0, 1], color="grey", linewidth=1, linestyle=":", label="perfect calibration")
        for kind, table in kinds.items():
            used = table[table["count"] > 0]
            line, = ax.plot(used["confidence"], used["accuracy"], marker="o", markersize=0, label=kind)
            ax.scatter(used["confidence"], used["accuracy"], s=8 + 2 * used["count"], color=line.get_color(),
                       alpha=0.6)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.02)
        ax.set_aspect("equal")
        ax.set_xlabel("mean confidence in bin (highest probability)")
        ax.set_ylabel("accuracy in bin")
        ax.set_title(name, fontsize=10)
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def curves_figure(histories: dict[str, pd.DataFrame], title: str):
    """Loss and accuracy per epoch of several models (val solid, train dashed), the kept epoch marked."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, history in histories.items():
        for column, ax in (("val_loss", ax_loss), ("val_accuracy", ax_acc)):
            line, = ax.plot(history["epoch"], history[column], label=f"{name} (val)")
            ax.plot(history["epoch"], history[column.removeprefix("val_")], "--", color=line.get_color(),
                    alpha=0.5, label=f"{name} (train)")
            if "best" in history and history["best"].any():
                best = history.loc[history["best"]].iloc[0]
                ax.plot(best["epoch"], best[column], "o", color=line.get_color())
    ax_loss.set_yscale("log")   # cce and mse losses differ in scale
    for column, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.set_xlabel("epoch")
        ax.set_ylabel(column)
        ax.legend(fontsize=7, ncol=2)
    fig.suptitle(title, fontsize=10)
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
