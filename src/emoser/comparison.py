"""Is B better than A on the same test recordings? Paired tests: pure functions of labels, no I/O.

- the difference B − A in UAR and accuracy with a **paired** percentile bootstrap interval (both
  predictions of a resampled recording move together, so the interval is far narrower than
  comparing two independent intervals);
- an **exact McNemar test** on the recordings exactly one side got right;
- a verdict from the UAR difference's interval: ``better`` / ``worse`` when it excludes 0,
  ``within noise`` otherwise.
"""
from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd

from .corpus import EMOTIONS, LABEL_BY_EMOTION

BETTER, WORSE, NOISE = "better", "worse", "within noise"
NOT_COMPARABLE = "not comparable"


def _scores(y_true: np.ndarray, y_pred: np.ndarray, picks: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """Accuracy and UAR of each resample (rows of ``picks``); a class absent from a resample is
    left out of its UAR, as in ``scoring.classification_metrics``."""
    correct = (y_true == y_pred).astype(np.float64)
    one_hot = np.eye(n_classes)[y_true]
    support = one_hot[picks].sum(axis=1)
    hits = (one_hot * correct[:, None])[picks].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        recall = np.where(support > 0, hits / support, np.nan)
    return {"accuracy": correct[picks].mean(axis=1), "uar": np.nanmean(recall, axis=1)}


def mcnemar_exact(base_correct, head_correct) -> tuple[int, int, float]:
    """(recordings only base got right, recordings only head got right, two-sided exact p).

    The exact (binomial) McNemar test: under "no difference" each discordant recording is a fair
    coin. p = 1 when there are no discordant recordings."""
    base_correct, head_correct = np.asarray(base_correct, bool), np.asarray(head_correct, bool)
    only_base = int(np.sum(base_correct & ~head_correct))
    only_head = int(np.sum(~base_correct & head_correct))
    n = only_base + only_head
    if n == 0:
        return only_base, only_head, 1.0
    tail = sum(comb(n, i) for i in range(min(only_base, only_head) + 1)) / 2 ** n
    return only_base, only_head, float(min(1.0, 2 * tail))


def verdict(low: float, high: float) -> str:
    """``better`` if the whole interval of head − base is above 0, ``worse`` if below, else noise."""
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return NOISE


def paired_comparison(actual, base, head, resamples: int, seed: int, level: float = 0.95,
                      n_classes: int = len(EMOTIONS)) -> dict:
    """Head − base on the same test items (class indices): each side's accuracy and UAR, the
    differences with paired bootstrap intervals, McNemar's counts and p, and the verdict."""
    actual, base, head = (np.asarray(a, dtype=np.int64) for a in (actual, base, head))
    if not len(actual) == len(base) == len(head):
        raise ValueError(f"paired predictions differ in length: {len(actual)}, {len(base)}, {len(head)}")
    everything = np.arange(len(actual))[None, :]
    point_base, point_head = _scores(actual, base, everything, n_classes), _scores(actual, head, everything, n_classes)
    picks = np.random.default_rng(seed).integers(0, len(actual), size=(resamples, len(actual)))
    boot_base, boot_head = _scores(actual, base, picks, n_classes), _scores(actual, head, picks, n_classes)
    tail = 100 * (1 - level) / 2
    result: dict = {"n": int(len(actual)), "level": level}
    for score in ("uar", "accuracy"):
        difference = boot_head[score] - boot_base[score]
        result[score] = {"base": float(point_base[score][0]), "head": float(point_head[score][0]),
                         "difference": float(point_head[score][0] - point_base[score][0]),
                         "low": float(np.nanpercentile(difference, tail)),
                         "high": float(np.nanpercentile(difference, 100 - tail))}
    only_base, only_head, p = mcnemar_exact(base == actual, head == actual)
    result["mcnemar"] = {"only_base_right": only_base, "only_head_right": only_head, "p": p}
    result["verdict"] = verdict(result["uar"]["low"], result["uar"]["high"])
    return result


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    nth = table.groupby("utterance", sort=False).cumcount().astype(str)
    return table.set_index(table["utterance"].astype(str) + "#" + nth).sort_index()


def compare_tables(base: pd.DataFrame, head: pd.DataFrame, resamples: int, seed: int, level: float = 0.95
                   ) -> dict:
    """``paired_comparison`` of two prediction tables (columns utterance, emotion, predicted; one
    row per test item: a recording, or under the leaky protocol each scored copy of it, paired by
    their order) — or ``{"verdict": "not comparable", "reason": ...}`` when they do not score the
    same recordings with the same labels."""
    b, h = _keyed(base), _keyed(head)
    if not b.index.equals(h.index):
        only_b, only_h = len(b.index.difference(h.index)), len(h.index.difference(b.index))
        return {"verdict": NOT_COMPARABLE,
                "reason": f"different test recordings ({only_b} only in base, {only_h} only in head)"}
    if not b["emotion"].equals(h["emotion"]):
        return {"verdict": NOT_COMPARABLE, "reason": "the same recordings carry different labels"}
    index = LABEL_BY_EMOTION
    return paired_comparison(b["emotion"].map(index), b["predicted"].map(index), h["predicted"].map(index),
                             resamples, seed, level)
