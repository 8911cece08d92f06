"""The classical baselines: SVMs on openSMILE functionals, the numbers a deep model must beat
(stage baselines).

Each model in ``baselines.models`` is scored on the original recordings under the hold-out
split (``split.csv``) and every leak-free cross-validation protocol (``folds.csv``), with the
same folds as the trained models. SVMs need no early stopping, so each fold's val
recordings are trained on too.

With ``speaker_standardisation`` each speaker's features are z-scored over that speaker's
own recordings before anything else. For a test speaker that uses their unlabelled audio
(never labels); it is reported as its own setting (``+spkstd``).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from emoser.evaluation.predictions import PREDICTION_COLUMNS, fold_rows, prediction_rows
from emoser.features.functionals import Functionals
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.params.baselines import BaselineParams

log = logging.getLogger(__name__)


def make_svm(params: BaselineParams, seed: int = 0) -> Pipeline:
    # Balanced class weights: the target is UAR, and disgust has 46 recordings to anger's 127.
    return make_pipeline(StandardScaler(), SVC(kernel=params.kernel, C=params.C, class_weight="balanced",
                                               random_state=seed))


def _fit_predict(params: BaselineParams, features: np.ndarray, labels: np.ndarray, train: np.ndarray,
                 test: np.ndarray) -> np.ndarray:
    return make_svm(params).fit(features[train], labels[train]).predict(features[test])


def run_baselines(recordings: pd.DataFrame, functionals: dict[str, Functionals], table: pd.DataFrame,
                  models: dict[str, BaselineParams], standardisation: tuple[bool, ...], jobs: int = 1
                  ) -> pd.DataFrame:
    """Test predictions of every SVM in ``models``, with and without speaker standardisation as
    ``standardisation`` says, in every fold of ``table``; the fits run on ``jobs`` processes."""
    labels = recordings["label"].to_numpy()
    tasks = []
    for name, params in models.items():
        values = functionals[params.feature_set].select(recordings["utterance"])
        for standardise in standardisation:
            features = speaker_standardise(values, recordings["speaker"]) if standardise else values
            model = name + (SPEAKER_STANDARDISED if standardise else "")
            tasks += [(params, features, model, *fold) for fold in fold_rows(recordings, table)]
    predicted = Parallel(n_jobs=jobs)(delayed(_fit_predict)(params, features, labels, train, test)
                                      for params, features, _, _, _, train, test in tasks)
    rows = [prediction_rows(recordings, test, p, protocol, fold, model)
            for (_, _, model, protocol, fold, _, test), p in zip(tasks, predicted)]
    return pd.concat(rows, ignore_index=True)[PREDICTION_COLUMNS]
