"""Stage baselines: SVMs on openSMILE functionals, the numbers a deep model must beat.

Each model in ``baselines.models`` is scored on the original recordings under the hold-out
split (``split.csv``) and every leak-free cross-validation protocol (``folds.csv``), with the
same folds as the trained models. SVMs need no early stopping, so each fold's val
recordings are trained on too.

With ``speaker_standardisation`` each speaker's features are z-scored over that speaker's
own recordings before anything else. For a test speaker that uses their unlabelled audio
(never labels); it is reported as its own setting (``+spkstd``).

    python -m emoser.baselines
"""
from __future__ import annotations

import argparse
import logging

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from . import paths
from .cli import stage
from .corpus import EMOTIONS
from .files import write_csv, write_json
from .metrics import scored_models, summarise_predictions
from .params import BaselineParams, Params, flatten, load_params
from .smile import Functionals
from .tracking import log_summary_runs, resolve_tracking_uri

log = logging.getLogger(__name__)
SPEAKER_STANDARDISED = "+spkstd"
HOLDOUT = "holdout"
PREDICTION_COLUMNS = ["protocol", "model", "fold", "utterance", "speaker", "emotion", "predicted"]


def speaker_standardise(values: np.ndarray, speakers) -> np.ndarray:
    """Z-score the rows of each speaker over that speaker's rows; constant columns become 0."""
    values = np.asarray(values, dtype=np.float64)
    speakers = np.asarray(speakers)
    out = np.empty_like(values)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean, std = values[rows].mean(axis=0), values[rows].std(axis=0)
        out[rows] = (values[rows] - mean) / np.where(std > 0, std, 1.0)
    return out


def make_svm(params: BaselineParams, seed: int = 0) -> Pipeline:
    # Balanced class weights: the target is UAR, and disgust has 46 recordings to anger's 127.
    return make_pipeline(StandardScaler(), SVC(kernel=params.kernel, C=params.C, class_weight="balanced",
                                               random_state=seed))


def assignments(folds: pd.DataFrame, split: pd.DataFrame, split_protocol: str) -> pd.DataFrame:
    """(protocol, fold, clip, subset) of original recordings for every protocol the baselines run:
    the hold-out split (unless it is the leaky one) and the leak-free cv protocols."""
    tables = [folds[folds["protocol"] != "leaky"]]
    if split_protocol != "leaky":
        tables.append(split.assign(protocol=HOLDOUT, fold=split_protocol))
    return pd.concat(tables, ignore_index=True)


def fold_rows(recordings: pd.DataFrame, table: pd.DataFrame):
    """(protocol, fold, train rows, test rows) of ``recordings`` for every fold of ``table``.

    Original recordings only; a fold's val recordings are trained on (no early stopping here)."""
    position = pd.Series(np.arange(len(recordings)), index=recordings["utterance"])
    for (protocol, fold), part in table.groupby(["protocol", "fold"], sort=False):
        part = part[part["clip"].isin(position.index)]
        train = position[part.loc[part["subset"].isin(["train", "val"]), "clip"]].to_numpy()
        test = position[part.loc[part["subset"] == "test", "clip"]].to_numpy()
        yield protocol, fold, train, test


def prediction_rows(recordings: pd.DataFrame, test: np.ndarray, predicted, protocol: str, fold: str,
                    model: str) -> pd.DataFrame:
    """Test predictions (class indices) as rows of PREDICTION_COLUMNS."""
    chosen = recordings.iloc[test]
    return pd.DataFrame({"protocol": protocol, "model": model, "fold": fold,
                         "utterance": chosen["utterance"].to_numpy(), "speaker": chosen["speaker"].to_numpy(),
                         "emotion": chosen["emotion"].to_numpy(),
                         "predicted": [EMOTIONS[i] for i in predicted]})


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


def load_recordings_and_folds(params: Params) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The manifest of original recordings and every fold they are scored in (``assignments``)."""
    manifest = pd.read_csv(paths.MANIFEST, dtype={"speaker": str})
    folds = pd.read_csv(paths.FOLDS, dtype={"fold": str})
    split = pd.read_csv(paths.SPLIT)
    return manifest, assignments(folds, split, params.split.protocol)


def summarise_recordings(predictions: pd.DataFrame, manifest: pd.DataFrame, params: Params) -> dict:
    """``summarise_predictions`` with the listeners' reference, the hold-out block naming its split."""
    settings = params.evaluate
    summary = summarise_predictions(predictions, settings.bootstrap_resamples, settings.seed, settings.ci_level,
                                    manifest.set_index("utterance")["recognition"])
    if HOLDOUT in summary:
        summary[HOLDOUT]["split_protocol"] = params.split.protocol
    return summary


@stage
def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    manifest, table = load_recordings_and_folds(params)
    feature_sets = {m.feature_set for m in params.baselines.models.values()}
    functionals = {s: Functionals.load(paths.OPENSMILE / f"{s}.npz") for s in feature_sets}
    predictions = run_baselines(manifest, functionals, table, params.baselines.models,
                                params.baselines.speaker_standardisation, params.baselines.jobs)
    summary = summarise_recordings(predictions, manifest, params)
    write_csv(paths.BASELINE_PREDICTIONS, predictions)
    write_json(paths.METRICS / "baselines.json", summary)
    logged = {k: v for k, v in flatten(params).items() if k.startswith(("baselines.", "cv.", "split.", "evaluate."))}
    log_summary_runs(summary, resolve_tracking_uri(params.mlflow.tracking_uri), params.mlflow.experiment,
                     logged, {"kind": "baseline"})
    for protocol, model, result in scored_models(summary):
        log.info("%s %s: UAR %.3f, accuracy %.3f", protocol, model, result["pooled"]["uar"],
                 result["pooled"]["accuracy"])


if __name__ == "__main__":
    main()
