"""Scores of a set of predictions: pure functions of labels, no I/O."""
from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

from .corpus import EMOTIONS


def classification_metrics(y_true, y_pred, classes=EMOTIONS) -> dict:
    """Accuracy, UAR (unweighted average recall = macro recall), macro-F1 and per-class figures.

    Classes absent from ``y_true`` count with recall 0 only if predicted; sklearn's
    zero_division=0 keeps them from raising.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    labels = np.arange(len(classes))
    present = np.unique(y_true)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        # UAR and macro-F1 average over the classes the test set holds.
        "uar": float(recall[present].mean()),
        "macro_f1": float(f1[present].mean()),
        "test_size": int(len(y_true)),
        "per_class": {
            name: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                   "support": int(support[i])}
            for i, name in enumerate(classes)
        },
    }


def confusion(y_true, y_pred, n_classes: int = len(EMOTIONS)) -> np.ndarray:
    """Counts, rows = actual class, columns = predicted class."""
    return confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


def bootstrap_intervals(y_true, y_pred, n_classes: int, resamples: int, seed: int, level: float = 0.95
                        ) -> dict[str, dict[str, float]]:
    """Percentile bootstrap intervals for accuracy and UAR: resample test items with replacement.

    A class missing from a resample is left out of that resample's UAR, as in
    ``classification_metrics``.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(y_true), size=(resamples, len(y_true)))
    correct = (y_true == y_pred).astype(np.float64)
    one_hot = np.eye(n_classes)[y_true]                               # (n, classes)
    support = one_hot[picks].sum(axis=1)                              # (resamples, classes)
    hits = (one_hot * correct[:, None])[picks].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
    scores = {"accuracy": correct[picks].mean(axis=1), "uar": np.nanmean(recall, axis=1)}
    tail = 100 * (1 - level) / 2
    return {name: {"low": float(np.percentile(values, tail)), "high": float(np.percentile(values, 100 - tail))}
            for name, values in scores.items()}
