"""Cross-validating the trained networks: a variant trained and tested in every fold (stage cv).

Each fold trains one model on that fold's training clips (originals and their copies),
stops early on the fold's val recordings and predicts its test recordings, with the same
code as the hold-out ``train``/``evaluate`` stages. Every fold is one training task
(``emoser.models.networks.tasks``). Models of the folds are not kept.
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from emoser.models.networks.tasks import TrainingTask, run_trainings
from emoser.params.compute import ComputeParams
from emoser.params.networks import ArchitectureParams, TrainParams
from emoser.protocols.folds import fold_names

log = logging.getLogger(__name__)


def fold_tasks(variant: str, protocol: str, settings: TrainParams, architectures: ArchitectureParams,
               normalisation: str, threads: int, clips: pd.DataFrame, features: Path, folds: pd.DataFrame
               ) -> list[TrainingTask]:
    """One task per fold of ``protocol`` for ``variant``."""
    tasks = []
    for fold in fold_names(folds, protocol):
        chosen = folds[(folds["protocol"] == protocol) & (folds["fold"] == fold)]
        tasks.append(TrainingTask(variant, protocol, str(fold), clips, chosen.set_index("clip")["subset"],
                              Path(features).resolve(), settings, architectures, normalisation, threads))
    return tasks


def cross_validate(tasks: list[TrainingTask], compute: ComputeParams) -> pd.DataFrame:
    """Every task's test predictions, in the order of ``tasks``."""
    results = run_trainings(tasks, compute)
    for task, result in zip(tasks, results):
        table = result.predictions
        log.info("cv %s %s fold %s: accuracy %.3f on %d, %d epochs, %.0f s on %s", task.variant, task.protocol,
                 task.fold, (table["emotion"] == table["predicted"]).mean(), len(table),
                 table["epochs_run"].iloc[0] if len(table) else 0, result.seconds, result.ran_on)
    return pd.concat([r.predictions for r in results], ignore_index=True)


