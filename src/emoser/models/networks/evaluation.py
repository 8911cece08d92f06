"""Scoring one trained network on its hold-out test set (stages evaluate and study-evaluate; its
MLflow run: stage track).

Scoring reads the test probabilities stage train saved beside each network
(``emoser.models.networks.probabilities``), so it never starts TensorFlow.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from emoser.evaluation.scoring import classification_metrics, confusion, listener_reference, scored_with_intervals
from emoser.features.dataset import Subset
from emoser.models.networks.probabilities import saved_probabilities
from emoser.models.networks.saved import read_facts, replicate_folder, replicate_seeds
from emoser.params.evaluate import EvaluateParams
from emoser.protocols.names import LEAKY, LEAKY_WARNING

log = logging.getLogger(__name__)
def evaluate(folder: Path, test: Subset, settings: EvaluateParams, recognition: pd.Series | None = None
             ) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Metrics (with bootstrap intervals and the listeners' reference), per-sample predictions
    and confusion counts of the network saved in ``folder`` on ``test``, over the classes it was
    trained on."""
    facts = read_facts(folder)
    emotions = facts["emotions"]
    predicted = saved_probabilities(folder, test).argmax(axis=1)
    actual = test.labels
    scores = scored_with_intervals(actual, predicted, settings.bootstrap_resamples, settings.seed,
                                   settings.ci_level, emotions)
    listeners = (listener_reference(test.clips["utterance"], test.clips["emotion"], recognition, emotions)
                 if recognition is not None else None)
    if listeners is not None:
        scores["listeners"] = listeners["overall"]
        for emotion, share in listeners["per_class"].items():
            scores["per_class"][emotion]["listeners"] = share
    protocol = facts["protocol"]
    metrics = {"protocol": protocol, "leaky": protocol == LEAKY}
    if protocol == LEAKY:
        metrics["warning"] = LEAKY_WARNING
    metrics.update({"arch": facts["arch"], "loss": facts["loss"], **scores,
                    "epochs_run": facts["epochs_run"], "best_epoch": facts["best_epoch"]})
    samples = pd.DataFrame({"clip": test.clips["clip"], "actual": [emotions[i] for i in actual],
                            "predicted": [emotions[i] for i in predicted]})
    return metrics, samples, confusion(actual, predicted, len(emotions))


def evaluate_replicates(model: Path, test: Subset, named_seed: int) -> tuple[dict, pd.DataFrame] | None:
    """Every seed's network under ``model``/replicates scored on ``test``: per seed UAR, accuracy and
    epochs, their mean and standard deviation over seeds (the training run's spread), and the
    per-seed predictions (columns seed, clip, actual, predicted). None where ``model`` has no
    replicates (a copied, shipped model: its twin has them)."""
    seeds = replicate_seeds(model)
    if not seeds:
        return None
    per_seed, tables = {}, []
    for seed in seeds:
        folder = replicate_folder(model, seed)
        facts = read_facts(folder)
        predicted = saved_probabilities(folder, test).argmax(axis=1)
        emotions = facts["emotions"]
        scores = classification_metrics(test.labels, predicted, emotions)
        per_seed[str(seed)] = {"uar": scores["uar"], "accuracy": scores["accuracy"], "epochs_run": facts["epochs_run"]}
        tables.append(pd.DataFrame({"seed": seed, "clip": test.clips["clip"],
                                    "actual": [emotions[i] for i in test.labels],
                                    "predicted": [emotions[i] for i in predicted]}))
    summary: dict = {"seeds": seeds, "named_seed": named_seed, "per_seed": per_seed}
    for score in ("uar", "accuracy"):
        values = np.array([r[score] for r in per_seed.values()])
        summary[f"{score}_mean"] = float(values.mean())
        summary[f"{score}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return summary, pd.concat(tables, ignore_index=True)
