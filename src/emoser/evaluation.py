"""Scoring one trained network on its hold-out test set (stages evaluate and study-evaluate; its
MLflow run: stage track)."""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .corpus import EMOTIONS
from .dataset import Subset
from .networks import Bundle
from .protocols import LEAKY, LEAKY_WARNING
from .scoring import EvaluateParams, confusion, listener_reference, scored_with_intervals

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
