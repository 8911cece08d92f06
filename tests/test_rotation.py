"""Our model's rotation onto the span of its training rows (emoser.models.classical.rotation): PCA's
components and variances by the smaller eigen-problem, and the same logistic regression after it."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression

from emoser.models.classical.fusion import make_member
from emoser.models.classical.rotation import SpanRotation


@pytest.mark.parametrize("rows, columns", [(120, 900), (400, 60)])   # the Gram route, the covariance route
def test_the_rotation_is_pca_up_to_signs_and_the_regression_is_unchanged(rows, columns):
    rng = np.random.default_rng(rows)
    X = rng.normal(size=(rows, columns)) @ rng.normal(size=(columns, columns)) * 0.1 + 3.0
    y = rng.integers(0, 4, rows)
    test = rng.normal(size=(30, columns)) * 2
    pca, ours = PCA(svd_solver="full").fit(X), SpanRotation().fit(X)
    kept = min(rows - 1, columns)                       # centred rows span rows - 1 directions
    assert ours.components_.shape == (kept, columns)
    np.testing.assert_allclose(ours.explained_variance_, pca.explained_variance_[:kept], rtol=1e-9)
    signs = np.sign(np.sum(ours.components_ * pca.components_[:kept], axis=1))
    assert set(signs) <= {-1.0, 1.0}
    np.testing.assert_allclose(ours.components_ * signs[:, None], pca.components_[:kept], atol=1e-8)
    np.testing.assert_allclose(ours.transform(test) * signs, pca.transform(test)[:, :kept], atol=1e-8)
    np.testing.assert_allclose(ours.mean_, pca.mean_)
    # what a pipeline asks of it in each fit: the training rows' coordinates, from the decomposition itself
    np.testing.assert_allclose(SpanRotation().fit_transform(X), ours.transform(X), atol=1e-8)
    assert np.all(np.abs(SpanRotation().fit_transform(X)).std(axis=0) > 0)
    # the member as our model fits it, against the same regression after scikit-learn's PCA
    member = make_member(0.1).fit(X, y)
    reference = LogisticRegression(C=0.1, class_weight="balanced", max_iter=5000).fit(pca.transform(X), y)
    np.testing.assert_allclose(member.predict_proba(test), reference.predict_proba(pca.transform(test)), atol=1e-9)


def test_float32_features_give_float32_coordinates_as_pca_does():
    """The regression after the rotation then runs in float32, as it did after scikit-learn's PCA."""
    X = np.random.default_rng(3).normal(size=(50, 200)).astype(np.float32)
    ours, pca = SpanRotation().fit(X), PCA(svd_solver="full").fit(X)
    assert ours.transform(X).dtype == pca.transform(X).dtype == SpanRotation().fit_transform(X).dtype == np.float32
    assert ours.transform(X.astype(np.float64)).dtype == np.float64
    Z, reference = ours.transform(X).astype(np.float64), pca.transform(X).astype(np.float64)
    np.testing.assert_allclose(Z @ Z.T, reference @ reference.T, atol=1e-3)    # the same geometry of the rows


def test_constant_rows_rotate_to_one_zero_component():
    """Nothing varies: one zero component, and the regression answers each class's share (its intercept)."""
    X = np.ones((10, 5))
    rotation = SpanRotation().fit(X)
    assert rotation.components_.shape == (1, 5) and not rotation.transform(X).any()
    assert SpanRotation().fit_transform(X).shape == (10, 1) and not SpanRotation().fit_transform(X).any()
    member = make_member(1.0, balanced=False).fit(X, np.array([0] * 7 + [1] * 3))
    np.testing.assert_allclose(member.predict_proba(X[:1]), [[0.7, 0.3]], atol=1e-3)


def test_components_are_made_when_asked_and_a_pickle_holds_them_not_the_rows():
    """A fold's model only transforms its test rows, through the training rows (no components made); stage
    package and a saved model ask for the components: the same ones, pickled as before."""
    rng = np.random.default_rng(5)
    X, test = rng.normal(size=(80, 700)), rng.normal(size=(20, 700))
    lazy, eager = SpanRotation().fit(X), SpanRotation().fit(X)
    through_rows = lazy.transform(test)
    components = eager.components_
    np.testing.assert_allclose(through_rows, eager.transform(test), rtol=0, atol=1e-12)
    state = lazy.__getstate__()
    assert list(state) == ["mean_", "components_", "explained_variance_", "n_features_in_"]
    assert np.array_equal(state["components_"], components)
    loaded = pickle.loads(pickle.dumps(SpanRotation().fit(X)))
    assert np.array_equal(loaded.components_, components)
    assert np.array_equal(loaded.transform(test), eager.transform(test))
    assert pickle.dumps(loaded) == pickle.dumps(eager)
