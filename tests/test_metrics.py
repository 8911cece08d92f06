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
