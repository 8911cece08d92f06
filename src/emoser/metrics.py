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
