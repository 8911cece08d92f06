"""Scores of a set of predictions, with bootstrap intervals and the listeners' reference:
pure functions of labels, no I/O. ``classes`` / ``emotions``: the corpus's emotions in label order
(``emoser.corpora.manifest.emotion_order`` of its manifest)."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, precision_recall_fscore_support


def classification_metrics(y_true, y_pred, classes: Sequence[str]) -> dict:
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


def confusion(y_true, y_pred, n_classes: int) -> np.ndarray:
    """Counts, rows = actual class, columns = predicted class."""
    return confusion_matrix(y_true, y_pred, labels=np.arange(n_classes))


def resampled_scores(y_true: np.ndarray, y_pred: np.ndarray, picks: np.ndarray, n_classes: int
                     ) -> dict[str, np.ndarray]:
    """Accuracy and UAR of each bootstrap resample (rows of ``picks``: test items drawn with
    replacement); a class absent from a resample is left out of its UAR, as in
    ``classification_metrics``. The intervals here and the paired tests of ``comparison`` share it."""
    correct = (y_true == y_pred).astype(np.float64)
    one_hot = np.eye(n_classes)[y_true]                               # (n, classes)
    picks = np.asarray(picks)
    resamples, n = picks.shape
    # how often each item was drawn in each resample: the sums below are then small matrix products
    # (whole numbers, exact in float64: the same figures as summing the drawn items one by one)
    drawn = np.bincount((picks + n * np.arange(resamples)[:, None]).ravel(),
                        minlength=resamples * len(y_true)).reshape(resamples, len(y_true)).astype(np.float64)
    support = drawn @ one_hot                                         # (resamples, classes)
    hits = drawn @ (one_hot * correct[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
    return {"accuracy": (drawn @ correct) / n, "uar": np.nanmean(recall, axis=1)}


def bootstrap_intervals(y_true, y_pred, n_classes: int, resamples: int, seed: int, level: float = 0.95
                        ) -> dict[str, dict[str, float]]:
    """Percentile bootstrap intervals for accuracy and UAR: resample test items with replacement.

    Written out rather than ``scipy.stats.bootstrap``: scipy draws its resamples differently, so every
    committed interval would move, and the paired tests need the same draws for both sides."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(y_true), size=(resamples, len(y_true)))
    scores = resampled_scores(y_true, y_pred, picks, n_classes)
    tail = 100 * (1 - level) / 2
    return {name: {"low": float(np.percentile(values, tail)), "high": float(np.percentile(values, 100 - tail))}
            for name, values in scores.items()}


def scored_with_intervals(y_true, y_pred, resamples: int, seed: int, level: float,
                          classes: Sequence[str]) -> dict:
    """``classification_metrics`` plus bootstrap intervals for accuracy and UAR."""
    scores = classification_metrics(y_true, y_pred, classes)
    intervals = bootstrap_intervals(y_true, y_pred, len(classes), resamples, seed, level)
    scores["accuracy_ci"] = {**intervals["accuracy"], "level": level}
    scores["uar_ci"] = {**intervals["uar"], "level": level}
    return scores


SUMMARY_SCORES = ("accuracy", "uar", "macro_f1")


def cross_validation_summary(y_true, y_pred, fold, resamples: int, seed: int, level: float,
                             classes: Sequence[str]) -> dict:
    """Pooled scores over all folds' test predictions (with bootstrap intervals), each fold's
    scores, and their mean and standard deviation over folds."""
    y_true, y_pred, fold = np.asarray(y_true), np.asarray(y_pred), np.asarray(fold)
    per_fold = {}
    for name in dict.fromkeys(fold.tolist()):
        chosen = fold == name
        scores = classification_metrics(y_true[chosen], y_pred[chosen], classes)
        per_fold[str(name)] = {**{k: scores[k] for k in SUMMARY_SCORES}, "test_size": scores["test_size"]}
    table = pd.DataFrame(per_fold).T[list(SUMMARY_SCORES)].astype(float)
    return {"pooled": scored_with_intervals(y_true, y_pred, resamples, seed, level, classes),
            "fold_mean": {k: float(table[k].mean()) for k in SUMMARY_SCORES},
            "fold_std": {k: float(table[k].std(ddof=1)) if len(table) > 1 else 0.0 for k in SUMMARY_SCORES},
            "folds": per_fold}


def listener_reference(utterances: pd.Series, emotions: pd.Series, recognition: pd.Series,
                       classes: Sequence[str]) -> dict | None:
    """Share of the corpus's listeners who recognised the emotion, on exactly these recordings.

    ``recognition`` is percent per utterance (Emo-DB: erkennung.txt, 20 listeners); None when the
    corpus has no listener test.
    """
    shares = pd.Series(utterances).map(recognition).to_numpy(dtype=float) / 100
    if np.isnan(shares).all():
        return None
    by_class = pd.Series(shares).groupby(np.asarray(emotions)).mean()
    return {"overall": float(np.nanmean(shares)),
            "per_class": {e: float(by_class[e]) for e in classes if e in by_class.index}}


def summarise_predictions(predictions: pd.DataFrame, emotions: Sequence[str], resamples: int, seed: int,
                          level: float, recognition: pd.Series | None = None) -> dict:
    """Scores per protocol and model of a predictions table (columns protocol, model, fold,
    utterance, emotion, predicted; emotions by name), plus the listeners' reference on the
    same recordings. A single fold (a hold-out split) is summarised the same way."""
    index = {name: i for i, name in enumerate(emotions)}
    summary: dict = {}
    for protocol, part in predictions.groupby("protocol", sort=False):
        block: dict = {}
        for model, rows in part.groupby("model", sort=False):
            block[model] = cross_validation_summary(rows["emotion"].map(index), rows["predicted"].map(index),
                                                    rows["fold"].astype(str), resamples, seed, level, emotions)
        if recognition is not None:
            recordings = part.drop_duplicates("utterance")
            listeners = listener_reference(recordings["utterance"], recordings["emotion"], recognition, emotions)
            if listeners is not None:
                block["listeners"] = listeners
        summary[protocol] = block
    return summary


def scored_models(summary: dict):
    """(protocol, model, result) for each scored model of a ``summarise_predictions`` summary,
    skipping the listeners' reference and notes."""
    for protocol, block in summary.items():
        for model, result in block.items():
            if isinstance(result, dict) and "pooled" in result:
                yield protocol, model, result
