"""Tables of test predictions (one row per test recording and fold) and the shared ending of the
stages that make them (baselines, ours, cv): summarise with intervals, write."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emoser.core import paths
from emoser.core.files import read_folds, read_manifest, write_csv, write_json
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.scoring import scored_models, summarise_predictions
from emoser.params.evaluate import EvaluateParams
from emoser.protocols.names import HOLDOUT

log = logging.getLogger(__name__)
PREDICTION_COLUMNS = ["protocol", "model", "fold", "utterance", "speaker", "emotion", "predicted"]


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
    """Test predictions (class indices, in the label order of ``recordings``) as rows of PREDICTION_COLUMNS."""
    emotions = emotion_order(recordings)
    chosen = recordings.iloc[test]
    return pd.DataFrame({"protocol": protocol, "model": model, "fold": fold,
                         "utterance": chosen["utterance"].to_numpy(), "speaker": chosen["speaker"].to_numpy(),
                         "emotion": chosen["emotion"].to_numpy(),
                         "predicted": [emotions[i] for i in predicted]})


def load_recordings_and_folds(corpus: paths.CorpusData) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The manifest of a corpus's original recordings and every fold they are scored in (stage folds)."""
    return read_manifest(corpus.manifest), read_folds(corpus.folds)


def split_protocol_of(folds: pd.DataFrame) -> str | None:
    """The hold-out split's protocol (the fold name of its rows in a folds table); None without one."""
    names = folds.loc[folds["protocol"] == HOLDOUT, "fold"].unique()
    return str(names[0]) if len(names) else None


def summarise_recordings(predictions: pd.DataFrame, manifest: pd.DataFrame, settings: EvaluateParams,
                         split_protocol: str | None = None) -> dict:
    """``summarise_predictions`` with the listeners' reference, the hold-out block naming its split."""
    recognition = manifest.set_index("utterance")["recognition"] if "recognition" in manifest else None
    summary = summarise_predictions(predictions, emotion_order(manifest), settings.bootstrap_resamples,
                                    settings.seed, settings.ci_level, recognition)
    if HOLDOUT in summary:
        summary[HOLDOUT]["split_protocol"] = split_protocol
    return summary


def publish(summary: dict, predictions: pd.DataFrame, predictions_path: Path, metrics_path: Path) -> None:
    """The ending every predictions stage shares: the table and the summary written, each pooled
    score in the log. (MLflow runs: stage track, ``emoser.tracking.runs``.)"""
    write_csv(predictions_path, predictions)
    write_json(metrics_path, summary)
    for protocol, model, result in scored_models(summary):
        log.info("%s %s: UAR %.3f, accuracy %.3f (folds: UAR %.3f ± %.3f)", protocol, model,
                 result["pooled"]["uar"], result["pooled"]["accuracy"], result["fold_mean"]["uar"],
                 result["fold_std"]["uar"])
