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

The components themselves (n × d: 13 GFLOP for 1,010 × 6,373) are made only when asked for
(``components_``: stage package folds them into the weights; a pickle holds them, as before, and not
the rows). A fold's model only transforms its few test rows, as ``((X − mean) @ centredᵀ) @ (U / S)``:
n_test × d × n, not n × n × d. Same numbers up to rounding.
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
        self._components: np.ndarray | None = None
        self._rows: tuple[np.ndarray, np.ndarray] | None = None      # (centred, U / S): components_'s factors
        if n <= d:      # the rows' Gram matrix: centred = U S V^T, G = U S^2 U^T, V^T = (U / S)^T centred
            variance, vectors = np.linalg.eigh(centred @ centred.T)
            keep = self._kept(variance)
            scale = np.sqrt(variance[keep])
            self._rows = (centred, vectors[:, keep] / scale)
            coordinates = vectors[:, keep] * scale                  # centred @ V = U S
        else:           # the columns' covariance: C = V S^2 V^T
            variance, vectors = np.linalg.eigh(centred.T @ centred)
            keep = self._kept(variance)
            self._components = vectors[:, keep].T
            coordinates = centred @ vectors[:, keep]
        if not len(keep):                       # constant rows: one zero component (the model: its intercept)
            self._components, self._rows = np.zeros((1, d)), None
            keep, coordinates = np.array([0]), np.zeros((n, 1))
        self.explained_variance_ = np.maximum(variance[keep], 0.0) / max(n - 1, 1)
        self.n_features_in_ = d
        return coordinates

    @property
    def components_(self) -> np.ndarray:
        """The principal axes (kept components × features), made on first use from the fit's factors."""
        if self._components is None:
            assert self._rows is not None
            centred, basis = self._rows
            self._components, self._rows = basis.T @ centred, None
        return self._components

    def __getstate__(self) -> dict:
        """What a fitted rotation pickled before its components were made on demand, in the same order:
        the components, not the training rows (saved models keep their bytes and size)."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("_components", "_rows")}
        if "mean_" not in state:
            return state
        return {"mean_": state.pop("mean_"), "components_": self.components_, **state}

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        if "components_" in state:
            state["_components"], state["_rows"] = state.pop("components_"), None
        self.__dict__.update(state)

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
        if self._rows is not None:          # components not made: through the training rows (see above)
            centred, basis = self._rows
            out = ((X.astype(np.float64) - self.mean_) @ centred.T) @ basis
        else:
            out = (X.astype(np.float64) - self.mean_) @ self.components_.T
        return out.astype(np.float32) if X.dtype == np.float32 else out
