"""Scoring one trained network on its hold-out test set, and its MLflow run (params, per-epoch
curves, test metrics, figures, model) (stages evaluate and study-evaluate)."""
from __future__ import annotations

import logging
import os

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types.schema import Schema, TensorSpec

from . import paths
from .corpus import EMOTIONS
from .dataset import Subset
from .networks import Bundle
from .protocols import LEAKY, LEAKY_WARNING
from .scoring import EvaluateParams, confusion, listener_reference, scored_with_intervals
from .tracking import git_commit, use_experiment

log = logging.getLogger(__name__)


def evaluate(bundle: Bundle, test: Subset, settings: EvaluateParams, recognition: pd.Series | None = None
             ) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Metrics (with bootstrap intervals and the listeners' reference), per-sample predictions
    and confusion counts of ``bundle`` on ``test``."""
    proba = bundle.predict_proba(test.features, test.n_frames)
    predicted = proba.argmax(axis=1)
    actual = test.labels
    scores = scored_with_intervals(actual, predicted, settings.bootstrap_resamples, settings.seed,
                                   settings.ci_level)
    listeners = (listener_reference(test.clips["utterance"], test.clips["emotion"], recognition)
                 if recognition is not None else None)
    if listeners is not None:
        scores["listeners"] = listeners["overall"]
        for emotion, share in listeners["per_class"].items():
            scores["per_class"][emotion]["listeners"] = share
    protocol = bundle.facts["protocol"]
    metrics = {"protocol": protocol, "leaky": protocol == LEAKY}
    if protocol == LEAKY:
        metrics["warning"] = LEAKY_WARNING
    metrics.update({"arch": bundle.facts["arch"], "loss": bundle.facts["loss"], **scores,
                    "epochs_run": bundle.facts["epochs_run"], "best_epoch": bundle.facts["best_epoch"]})
    samples = pd.DataFrame({"clip": test.clips["clip"], "actual": [EMOTIONS[i] for i in actual],
                            "predicted": [EMOTIONS[i] for i in predicted]})
    return metrics, samples, confusion(actual, predicted)


def network_signature(bundle: Bundle) -> ModelSignature:
    """What the logged network takes and gives: normalised features (clips, features, frames) ->
    emotion probabilities."""
    shape = (-1, *bundle.network.input_shape[1:])
    return ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), shape)]),
                          outputs=Schema([TensorSpec(np.dtype("float32"), (-1, len(EMOTIONS)))]))


def log_to_mlflow(name: str, bundle: Bundle, metrics: dict, history: pd.DataFrame, figures: dict,
                  tracking_uri: str, experiment: str) -> str:
    protocol = metrics["protocol"]
    experiment_id = use_experiment(tracking_uri, f"{experiment}/{protocol}")
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags({"variant": name, "arch": metrics["arch"], "loss": metrics["loss"], "protocol": protocol,
                         "leaky": str(metrics["leaky"]).lower(), "git_commit": git_commit(),
                         "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                         **({"warning": LEAKY_WARNING} if metrics["leaky"] else {})})
        # what shaped the model (emoser.stages.train.MODEL_PARAM_SECTIONS), and this variant's own arch and loss
        mlflow.log_params({k: str(v) for k, v in bundle.facts["params"].items()})
        mlflow.log_params({"model.arch": metrics["arch"], "model.loss": metrics["loss"]})
        for row in history.itertuples(index=False):
            mlflow.log_metrics({k: float(getattr(row, k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
                               step=int(row.epoch))
        mlflow.log_metrics({f"test_{k}": float(metrics[k]) for k in ("accuracy", "uar", "macro_f1")})
        mlflow.log_metrics({f"test_{k}_ci_{end}": metrics[f"{k}_ci"][end] for k in ("accuracy", "uar")
                            for end in ("low", "high")})
        mlflow.log_metrics({f"test_recall_{c}": v["recall"] for c, v in metrics["per_class"].items()})
        mlflow.log_metrics({"epochs_run": metrics["epochs_run"], "best_epoch": metrics["best_epoch"]})
        for path in figures.values():
            mlflow.log_artifact(str(path), artifact_path="figures")
        mlflow.log_dict(metrics, "metrics.json")
        # Requirements are pinned in requirements.txt; MLflow's inference of them is slow and offline-hostile.
        mlflow.keras.log_model(bundle.network, name="model", pip_requirements=[], signature=network_signature(bundle))
        mlflow.log_artifact(str(paths.MODELS / name / Bundle.STATS_FILE), artifact_path="model")
        return run.info.run_id

