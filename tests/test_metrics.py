import numpy as np
import pytest

from emoser.metrics import classification_metrics, confusion


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
    from emoser.metrics import bootstrap_intervals
    y = np.array([0, 1, 2, 0, 1, 2])
    ci = bootstrap_intervals(y, y, 3, resamples=200, seed=0)
    assert ci == {"accuracy": {"low": 1.0, "high": 1.0}, "uar": {"low": 1.0, "high": 1.0}}


def test_bootstrap_interval_matches_the_binomial_width():
    from emoser.metrics import bootstrap_intervals
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
    from emoser.metrics import bootstrap_intervals
    small_true, small_pred = np.tile([0, 1], 10), np.tile([0, 0], 10)
    big_true, big_pred = np.tile([0, 1], 500), np.tile([0, 0], 500)
    small = bootstrap_intervals(small_true, small_pred, 2, 1000, 0)["accuracy"]
    big = bootstrap_intervals(big_true, big_pred, 2, 1000, 0)["accuracy"]
    assert (big["high"] - big["low"]) < (small["high"] - small["low"]) / 3
