import numpy as np
import pandas as pd
import pytest

from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import (
    classification_metrics,
    confusion,
    cross_validation_summary,
    scored_models,
    summarise_predictions,
)


def test_known_confusion():
    # 3 classes: class 0 all right (4), class 1 half right (2 of 4), class 2 one of two.
    y_true = [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    y_pred = [0, 0, 0, 0, 1, 1, 0, 2, 2, 0]
    m = classification_metrics(y_true, y_pred, classes=("a", "b", "c"))
    assert m["accuracy"] == pytest.approx(0.7)
    assert m["uar"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    assert m["per_class"]["a"]["precision"] == pytest.approx(4 / 6)
    assert m["per_class"]["c"]["f1"] == pytest.approx(0.5)
    assert m["per_class"]["b"]["support"] == 4
    assert m["test_size"] == 10
    assert confusion(y_true, y_pred, 3).tolist() == [[4, 0, 0], [1, 2, 1], [1, 0, 1]]


def test_uar_differs_from_accuracy_on_imbalance():
    y_true = [0] * 9 + [1]
    y_pred = [0] * 10
    m = classification_metrics(y_true, y_pred, classes=("a", "b"))
    assert m["accuracy"] == pytest.approx(0.9)
    assert m["uar"] == pytest.approx(0.5)


def test_absent_class_does_not_count_in_uar():
    m = classification_metrics([0, 1], [0, 1], classes=("a", "b", "c"))
    assert m["uar"] == 1.0 and m["macro_f1"] == 1.0
    assert np.isclose(m["per_class"]["c"]["recall"], 0.0)


def test_bootstrap_perfect_predictions_have_no_spread():
    from emoser.evaluation.scoring import bootstrap_intervals
    y = np.array([0, 1, 2, 0, 1, 2])
    ci = bootstrap_intervals(y, y, 3, resamples=200, seed=0)
    assert ci == {"accuracy": {"low": 1.0, "high": 1.0}, "uar": {"low": 1.0, "high": 1.0}}


def test_bootstrap_interval_matches_the_binomial_width():
    from emoser.evaluation.scoring import bootstrap_intervals
    rng = np.random.default_rng(3)
    y_true = rng.integers(0, 4, 400)
    y_pred = np.where(rng.random(400) < 0.6, y_true, (y_true + 1) % 4)
    acc = np.mean(y_true == y_pred)
    ci = bootstrap_intervals(y_true, y_pred, 4, resamples=2000, seed=1)
    half_width = 1.96 * np.sqrt(acc * (1 - acc) / 400)   # normal approximation, ~0.048
    assert ci["accuracy"]["low"] == pytest.approx(acc - half_width, abs=0.01)
    assert ci["accuracy"]["high"] == pytest.approx(acc + half_width, abs=0.01)
    assert ci["uar"]["low"] < classification_metrics(y_true, y_pred, "abcd")["uar"] < ci["uar"]["high"]
    # same seed, same interval; another seed, (slightly) another
    assert bootstrap_intervals(y_true, y_pred, 4, 2000, seed=1) == ci
    assert bootstrap_intervals(y_true, y_pred, 4, 2000, seed=2) != ci


def test_bootstrap_narrows_with_more_test_items():
    from emoser.evaluation.scoring import bootstrap_intervals
    small_true, small_pred = np.tile([0, 1], 10), np.tile([0, 0], 10)
    big_true, big_pred = np.tile([0, 1], 500), np.tile([0, 0], 500)
    small = bootstrap_intervals(small_true, small_pred, 2, 1000, 0)["accuracy"]
    big = bootstrap_intervals(big_true, big_pred, 2, 1000, 0)["accuracy"]
    assert (big["high"] - big["low"]) < (small["high"] - small["low"]) / 3


def test_cross_validation_summary_pools_and_spreads():
    # fold a: 2 of 2 right; fold b: 1 of 4 right (anger,anger,sadness,sadness -> all predicted anger)
    y_true = [0, 5, 0, 0, 5, 5]
    y_pred = [0, 5, 0, 0, 0, 0]
    fold = ["a", "a", "b", "b", "b", "b"]
    summary = cross_validation_summary(y_true, y_pred, fold, resamples=200, seed=0, level=0.95, classes=EMOTIONS)
    assert summary["pooled"]["accuracy"] == pytest.approx(4 / 6)
    assert summary["pooled"]["uar"] == pytest.approx((3 / 3 + 1 / 3) / 2)
    assert summary["folds"]["a"] == {"accuracy": 1.0, "uar": 1.0, "macro_f1": 1.0, "test_size": 2}
    assert summary["folds"]["b"]["accuracy"] == 0.5 and summary["folds"]["b"]["uar"] == 0.5
    assert summary["fold_mean"]["accuracy"] == pytest.approx(0.75)
    assert summary["fold_std"]["accuracy"] == pytest.approx(np.std([1.0, 0.5], ddof=1))
    low, high = summary["pooled"]["uar_ci"]["low"], summary["pooled"]["uar_ci"]["high"]
    assert low < summary["pooled"]["uar"] < high


def test_summarise_predictions_per_protocol_model_and_listeners():
    table = pd.DataFrame({
        "protocol": ["loso"] * 4 + ["kfold"] * 2,
        "model": ["m1", "m1", "m2", "m2", "m1", "m1"],
        "fold": ["03", "08", "03", "08", "1", "2"],
        "utterance": ["u1", "u2", "u1", "u2", "u1", "u2"],
        "emotion": ["anger", "sadness", "anger", "sadness", "anger", "sadness"],
        "predicted": ["anger", "sadness", "sadness", "sadness", "anger", "anger"],
    })
    recognition = pd.Series({"u1": 90.0, "u2": 70.0})
    summary = summarise_predictions(table, EMOTIONS, 100, 0, 0.95, recognition)
    assert list(summary) == ["loso", "kfold"]
    assert summary["loso"]["m1"]["pooled"]["uar"] == 1.0 and summary["loso"]["m2"]["pooled"]["uar"] == 0.5
    assert summary["kfold"]["m1"]["pooled"]["accuracy"] == 0.5
    # listeners counted once per recording, not once per model
    assert summary["loso"]["listeners"]["overall"] == pytest.approx(0.8)
    assert summary["loso"]["listeners"]["per_class"] == {"anger": pytest.approx(0.9), "sadness": pytest.approx(0.7)}
    assert [(p, m) for p, m, _ in scored_models(summary)] == [("loso", "m1"), ("loso", "m2"), ("kfold", "m1")]
