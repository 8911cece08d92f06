"""Paired tests (emoser.comparison): exact values where they are known, and what pairing buys."""
from __future__ import annotations

from math import comb

import numpy as np
import pandas as pd
import pytest

from emoser.comparison import BETTER, NOISE, NOT_COMPARABLE, WORSE, compare_tables, mcnemar_exact, paired_comparison
from emoser.corpus import EMOTIONS
from emoser.scoring import bootstrap_intervals


def test_mcnemar_exact_p_values():
    # 2 recordings only base got right, 10 only head: p = 2 * P(X <= 2), X ~ Bin(12, 1/2)
    base = [True] * 2 + [False] * 10 + [True] * 30
    head = [False] * 2 + [True] * 10 + [True] * 30
    assert mcnemar_exact(base, head) == (2, 10, pytest.approx(2 * (1 + 12 + 66) / 2 ** 12))
    assert mcnemar_exact(head, base)[2] == mcnemar_exact(base, head)[2]          # two-sided
    assert mcnemar_exact([True] * 5 + [False] * 6, [False] * 5 + [True] * 6)[2] == 1.0  # 5 vs 6 is a coin
    assert mcnemar_exact([True, False], [True, False]) == (0, 0, 1.0)             # nothing discordant
    assert mcnemar_exact([False] * 10, [True] * 10)[2] == pytest.approx(2 / 2 ** 10)
    # the p-value of 20 vs 52 (our model vs ComParE under LOSO in the report) by direct summation
    expected = 2 * sum(comb(72, i) for i in range(21)) / 2 ** 72
    assert mcnemar_exact([True] * 20 + [False] * 52, [False] * 20 + [True] * 52)[2] == pytest.approx(expected)


def test_identical_predictions_are_within_noise_with_a_zero_interval():
    rng = np.random.default_rng(0)
    actual = rng.integers(0, 7, 200)
    predicted = np.where(rng.random(200) < 0.6, actual, rng.integers(0, 7, 200))
    result = paired_comparison(actual, predicted, predicted, resamples=500, seed=1)
    assert result["uar"]["difference"] == 0 and result["uar"]["low"] == 0 and result["uar"]["high"] == 0
    assert result["mcnemar"] == {"only_base_right": 0, "only_head_right": 0, "p": 1.0}
    assert result["verdict"] == NOISE


def test_a_clear_improvement_is_better_and_its_reverse_worse():
    rng = np.random.default_rng(1)
    actual = rng.integers(0, 7, 300)
    weak = np.where(rng.random(300) < 0.4, actual, (actual + 1) % 7)
    strong = np.where(rng.random(300) < 0.9, actual, (actual + 2) % 7)
    better = paired_comparison(actual, weak, strong, resamples=500, seed=2)
    assert better["verdict"] == BETTER and better["uar"]["low"] > 0.3
    assert better["accuracy"]["head"] == pytest.approx(np.mean(strong == actual))
    assert better["mcnemar"]["p"] < 1e-10
    assert paired_comparison(actual, strong, weak, resamples=500, seed=2)["verdict"] == WORSE


def test_pairing_sees_a_difference_that_two_separate_intervals_cannot():
    # Head fixes 12 of base's errors and breaks none: both accuracies' own intervals overlap widely,
    # but every resample of the same recordings has head ahead.
    rng = np.random.default_rng(3)
    actual = rng.integers(0, 7, 81)
    base = np.where(rng.random(81) < 0.5, actual, (actual + 3) % 7)
    wrong = np.flatnonzero(base != actual)[:12]
    head = base.copy()
    head[wrong] = actual[wrong]
    own = {name: bootstrap_intervals(actual, p, 7, 1000, 0)["accuracy"] for name, p in (("b", base), ("h", head))}
    assert own["h"]["low"] < own["b"]["high"]                       # the separate intervals overlap
    result = paired_comparison(actual, base, head, resamples=1000, seed=0)
    assert result["accuracy"]["low"] > 0 and result["verdict"] == BETTER
    assert result["mcnemar"]["only_head_right"] == 12 and result["mcnemar"]["p"] < 0.001


def _table(utterances, emotions, predicted):
    return pd.DataFrame({"utterance": utterances, "emotion": emotions, "predicted": predicted})


def test_compare_tables_pairs_by_recording_and_refuses_different_test_sets():
    emotions = [EMOTIONS[i % 7] for i in range(14)]
    names = [f"u{i:02d}" for i in range(14)]
    base = _table(names, emotions, emotions)
    shuffled = base.sample(frac=1, random_state=0)          # order does not matter: pairs by recording
    assert compare_tables(base, shuffled, 200, 0)["uar"]["difference"] == 0
    other = _table([*names[:-1], "u99"], emotions, emotions)
    result = compare_tables(base, other, 200, 0)
    assert result["verdict"] == NOT_COMPARABLE and "1 only in base, 1 only in head" in result["reason"]
    relabelled = _table(names, [*emotions[:-1], "anger"], emotions)
    assert compare_tables(base, relabelled, 200, 0)["verdict"] == NOT_COMPARABLE
    # the leaky protocol scores copies of a recording: paired by their order
    copies = _table(["a", "a", "b", "b"], ["anger"] * 4, ["anger", "fear", "anger", "anger"])
    assert compare_tables(copies, copies, 100, 0)["n"] == 4
