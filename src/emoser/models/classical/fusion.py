"""Our model, the fifth variant beside the report's four: a fusion of a ComParE feature-count
ensemble and a pretrained voice encoder (stage ours; served by ``emoser predict --model models/ours``).

The fusion of two class-balanced logistic-regression models of each original recording, their
class probabilities averaged (``ours.embedding_weight`` on the second):

- on openSMILE ComParE 2016 functionals: an ensemble over feature counts. Each member keeps the
  ``n`` features with the highest ANOVA F in its own training fold, one member per count in
  ``ours.feature_counts``, and the members' probabilities are averaged. Averaging over counts
  replaces picking one: the best count moves from speaker to speaker, and a nested search for it
  scored lower under LOSO than the average (README, "Our model");
- on a pretrained voice encoder's statistics (stage embeddings: Resemblyzer's GE2E LSTM, shipped
  in its wheel, never trained on Emo-DB).

Scored like the baselines, on the same folds: the hold-out split and every leak-free cv
protocol, with and without per-speaker standardisation. With ``ours.ablation`` it also
scores, under LOSO, each part alone and the fusion without class weights, so the report can
show what each lever adds.
"""
from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.decomposition import PCA
from sklearn.feature_selection import VarianceThreshold, f_classif
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from emoser.core.files import atomic_path, write_json
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import PREDICTION_COLUMNS, fold_rows, prediction_rows
from emoser.evaluation.scoring import scored_with_intervals
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.params.ours import OursParams

log = logging.getLogger(__name__)
MODEL = "ours"                            # its name in metrics, predictions tables and the report
ABLATION_PROTOCOL = "loso"
# Ablation rows beyond each feature count's member (member_name)
SMILE_ENSEMBLE = "ComParE ensemble"
VOICE = "voice encoder"
FUSED = "fusion"                          # ours
UNWEIGHTED = "fusion, no class weights"


def make_member(C: float, balanced: bool = True) -> Pipeline:
    """A class-balanced logistic regression, solved in the span of its training rows."""
    return Pipeline([
        # With far fewer training rows than features, the L2-penalised optimum lies in the span
        # of the training rows; rotating onto that span (all components kept) leaves the model
        # unchanged and lets the solver work on ~500 columns instead of thousands (~6x faster).
        ("rotate", PCA(svd_solver="full")),
        ("classify", LogisticRegression(C=C, class_weight="balanced" if balanced else None, max_iter=5000)),
    ])


def make_embedding_model(C: float, balanced: bool = True) -> Pipeline:
    """The voice encoder's part: its statistics standardised on the training rows, then ``make_member``."""
    return Pipeline([("scale", StandardScaler()), ("model", make_member(C, balanced))])


class FeatureCountEnsemble(ClassifierMixin, BaseEstimator):
    """One ``make_member`` per count in ``feature_counts``, each on that many features with the
    highest ANOVA F (after dropping constant ones and standardising on the training rows);
    predictions average the members' probabilities."""

    def __init__(self, feature_counts=(1000, 1500, 2000, 3000, "all"), C: float = 0.1, balanced: bool = True):
        self.feature_counts = feature_counts
        self.C = C
        self.balanced = balanced

    def fit(self, X, y):
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
        self.members_ = [make_member(self.C, self.balanced).fit(Z[:, cols], y) for cols in self.columns_]
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


def fit_fold(functionals: np.ndarray, embeddings: np.ndarray, labels: np.ndarray, train: np.ndarray,
              test: np.ndarray, params: OursParams, ablate: bool, n_classes: int) -> dict[str, np.ndarray]:
    """Test probabilities over ``n_classes`` classes, keyed by ablation row: the fusion (ours) and,
    when ``ablate``, each feature count's member, each part alone and the fusion without class
    weights. Classes absent from training get probability 0."""
    def full(model, probabilities):
        out = np.zeros((len(test), n_classes))
        out[:, model.classes_] = probabilities
        return out

    def parts(balanced: bool):
        ensemble = FeatureCountEnsemble(params.feature_counts, params.C, balanced)
        ensemble.fit(functionals[train], labels[train])
        voice = make_embedding_model(params.C, balanced).fit(embeddings[train], labels[train])
        members = ensemble.member_probabilities(functionals[test])
        return (ensemble, members, full(ensemble, members.mean(axis=0)),
                full(voice, voice.predict_proba(embeddings[test])))

    def fuse(smile, voice):
        return (1 - params.embedding_weight) * smile + params.embedding_weight * voice

    ensemble, members, smile, voice = parts(balanced=True)
    result = {FUSED: fuse(smile, voice)}
    if ablate:
        result.update({member_name(n): full(ensemble, p) for n, p in zip(params.feature_counts, members)})
        result.update({SMILE_ENSEMBLE: smile, VOICE: voice})
        result[UNWEIGHTED] = fuse(*parts(balanced=False)[2:])
    return result


@dataclass
class FusionModel:
    """Our model fitted on every recording, without speaker standardisation (a new recording comes
    alone): what ``emoser predict --model models/ours`` serves."""
    functionals_model: FeatureCountEnsemble
    voice_model: Pipeline
    embedding_weight: float
    facts: dict        # feature_set, emotions, longest training recording, how many recordings

    FILE = "ours.joblib"
    FACTS_FILE = "model.json"

    @classmethod
    def fit(cls, functionals: np.ndarray, embeddings: np.ndarray, labels: np.ndarray, params: OursParams,
            facts: dict) -> FusionModel:
        ensemble = FeatureCountEnsemble(params.feature_counts, params.C).fit(functionals, labels)
        voice = make_embedding_model(params.C).fit(embeddings, labels)
        return cls(ensemble, voice, params.embedding_weight, facts)

    def predict_proba(self, functionals: np.ndarray, embeddings: np.ndarray) -> np.ndarray:
        """(rows, emotions): the weighted average of the two parts' probabilities."""
        out = np.zeros((len(functionals), len(self.facts["emotions"])))
        for model, X, weight in ((self.functionals_model, functionals, 1 - self.embedding_weight),
                                 (self.voice_model, embeddings, self.embedding_weight)):
            out[:, model.classes_] += weight * model.predict_proba(X)
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / self.FILE) as tmp:
            joblib.dump({"functionals_model": self.functionals_model, "voice_model": self.voice_model,
                         "embedding_weight": self.embedding_weight}, tmp)
        write_json(folder / self.FACTS_FILE, self.facts)

    @classmethod
    def load(cls, folder: Path) -> FusionModel:
        # A pickle: load only models you made (as for any scikit-learn model).
        return cls(**joblib.load(folder / cls.FILE), facts=json.loads((folder / cls.FACTS_FILE).read_text()))


def member_name(n_features) -> str:
    return "all features" if n_features == "all" else f"{n_features} best features"


def run_ours(recordings: pd.DataFrame, functionals: np.ndarray, embeddings: np.ndarray, table: pd.DataFrame,
             params: OursParams) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Test predictions of ``ours`` (and ``ours+spkstd``) in every fold of ``table``, and the
    ablation's test probabilities (LOSO only), one row per (setting, row, recording).
    ``functionals`` and ``embeddings`` have one row per recording, in ``recordings``' order."""
    labels = recordings["label"].to_numpy()
    emotions = emotion_order(recordings)
    tasks = []
    for standardise in params.speaker_standardisation:
        features = [speaker_standardise(v, recordings["speaker"]) if standardise else v
                    for v in (functionals, embeddings)]
        model = MODEL + (SPEAKER_STANDARDISED if standardise else "")
        for protocol, fold, train, test in fold_rows(recordings, table):
            tasks.append((model, protocol, fold, test, features, train))
    results = Parallel(n_jobs=params.jobs)(
        delayed(fit_fold)(*features, labels, train, test, params,
                           params.ablation and protocol == ABLATION_PROTOCOL, len(emotions))
        for _, protocol, _, test, features, train in tasks)
    predictions, ablation = [], []
    for (model, protocol, fold, test, _, _), probabilities in zip(tasks, results):
        predictions.append(prediction_rows(recordings, test, probabilities[FUSED].argmax(axis=1),
                                           protocol, fold, model))
        if len(probabilities) > 1:
            for row, p in probabilities.items():
                ablation.append(pd.DataFrame({"model": model, "row": row, "fold": fold,
                                              "utterance": recordings["utterance"].to_numpy()[test],
                                              "label": labels[test], "predicted": p.argmax(axis=1),
                                              **{e: p[:, i].round(6) for i, e in enumerate(emotions)}}))
    log.info("%s: %d folds x settings, each %d ComParE members + the voice encoder's model", MODEL, len(tasks),
             len(params.feature_counts))
    ablation_table = pd.concat(ablation, ignore_index=True) if ablation else pd.DataFrame()
    return pd.concat(predictions, ignore_index=True)[PREDICTION_COLUMNS], ablation_table


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

