"""The rotation in front of each logistic regression of our model: PCA with every component kept, by the
eigen-decomposition of the smaller of the rows' Gram matrix and the columns' covariance.

Why hand-written: our model's members see far fewer rows than features (a LOSO fold of RAVDESS:
~1,000 recordings × 6,373 ComParE functionals), and an L2-penalised logistic regression's optimum lies in
the span of its training rows, so the members fit on the rows' coordinates in that span (any orthonormal
basis of it: the penalty and the loss do not change under a rotation). scikit-learn's
``PCA(svd_solver="full")`` finds that basis by a full SVD of the n × d matrix; the same basis comes from
``eigh`` of the n × n Gram matrix (one matrix product, then a small symmetric problem): measured here,
13.4 s against 0.8 s for 1,000 × 6,373, and the fold's fits are dominated by it. ``randomized`` or
``arpack`` solvers approximate; this is exact up to rounding. With more rows than columns (the voice
encoder's 512 statistics) the d × d covariance is the smaller problem, the usual PCA.

The fitted attributes are PCA's (``mean_``, ``components_``, ``explained_variance_``), so stage package
folds the rotation into each regression's weights as before (``emoser.serving.export``).

Two products are ordered for speed (issue 38; measured for 1,010 × 6,373 on one thread of a Xeon): the
components as ``(U / S)^T @ centred`` (n × n by n × d, both row-major: 0.16 s) rather than ``centred^T @ U``
(0.43 s); and ``fit_transform`` returns the training rows' coordinates as ``U S`` (the eigenvectors scaled:
no product) instead of projecting the rows it has just decomposed (0.17 s), which is what a pipeline asks
of it in every fit. Both are the same numbers up to rounding.
"""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin

# Components whose variance is below this share of the largest are dropped: directions the centred
# rows do not span (n rows span at most n - 1), where the Gram route would divide by ~0.
RELATIVE_FLOOR = 1e-12


class SpanRotation(TransformerMixin, BaseEstimator):
    """Centre, then rotate onto the principal axes of the training rows (all with variance above
    ``RELATIVE_FLOOR`` of the largest), largest variance first: ``PCA(svd_solver="full")``'s transform
    up to the sign of each component and rounding."""

    def fit(self, X, y=None):
        self._fit(X)
        return self

    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X).transform(X)``, the training rows' coordinates taken from the decomposition itself."""
        coordinates = self._fit(X)
        return coordinates.astype(np.float32) if np.asarray(X).dtype == np.float32 else coordinates

    def _fit(self, X) -> np.ndarray:
        """Fit; the training rows' coordinates, in float64."""
        X = np.asarray(X, dtype=np.float64)
        self.mean_ = X.mean(axis=0)
        centred = X - self.mean_
        n, d = centred.shape
        if n <= d:      # the rows' Gram matrix: centred = U S V^T, G = U S^2 U^T, V^T = (U / S)^T centred
            variance, vectors = np.linalg.eigh(centred @ centred.T)
            keep = self._kept(variance)
            scale = np.sqrt(variance[keep])
            components = (vectors[:, keep] / scale).T @ centred
            coordinates = vectors[:, keep] * scale                  # centred @ V = U S
        else:           # the columns' covariance: C = V S^2 V^T
            variance, vectors = np.linalg.eigh(centred.T @ centred)
            keep = self._kept(variance)
            components = vectors[:, keep].T
            coordinates = centred @ vectors[:, keep]
        if not len(keep):                       # constant rows: one zero component (the model: its intercept)
            components, keep, coordinates = np.zeros((1, d)), np.array([0]), np.zeros((n, 1))
        self.components_ = components
        self.explained_variance_ = np.maximum(variance[keep], 0.0) / max(n - 1, 1)
        self.n_features_in_ = d
        return coordinates

    @staticmethod
    def _kept(variance: np.ndarray) -> np.ndarray:
        """Indices of the components to keep, largest variance first."""
        order = np.argsort(variance, kind="stable")[::-1]
        top = variance[order[0]] if len(order) else 0.0
        return order[variance[order] > top * RELATIVE_FLOOR] if top > 0 else order[:0]

    def transform(self, X):
        """The rows' coordinates, computed in float64 and returned in the input's float type: float32
        features give float32 coordinates, as PCA does, and the regression after it then runs in float32
        (measured on the served model's 2,856 x 6,373 ComParE fit: 90 s of lbfgs in float32, 150 s in float64)."""
        X = np.asarray(X)
        out = (X.astype(np.float64) - self.mean_) @ self.components_.T
        return out.astype(np.float32) if X.dtype == np.float32 else out
