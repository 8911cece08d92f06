"""Cross-validating the trained networks: a variant trained and tested in every fold (stage cv).

Each fold trains one model on that fold's training clips (originals and their copies),
stops early on the fold's val recordings and predicts its test recordings, with the same
code as the hold-out ``train``/``evaluate`` stages. Every fold is an independent task
(``FoldTask`` -> ``train_fold``), run where ``compute`` says (``emoser.parallel.run_tasks``):
here, in local worker processes, one per GPU, or on a Dask cluster. A task seeds itself and sets
its own thread count, so its predictions do not depend on where or after what it ran. Models of
the folds are not kept.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .corpus import EMOTIONS
from .dataset import FeatureStore, assemble
from .folds import fold_names
from .parallel import ComputeParams, run_tasks
from .runtime import setup_logging
from .training import TrainParams, train_variant, use_threads
from .variants import ArchitectureParams

log = logging.getLogger(__name__)

# Keras seeds are process-wide: a Dask worker with several threads must not train two folds at once.
_ONE_TRAINING_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class FoldTask:
    """Everything one fold's training needs; small to send (the features are read from ``features``)."""
    variant: str               # e.g. 'cnn-cce'
    protocol: str
    fold: str
    clips: pd.DataFrame        # clips.csv
    subsets: pd.Series         # clip -> train / val / test / unused in this fold
    features: Path             # the features folder (absolute: workers may run elsewhere)
    settings: TrainParams
    architectures: ArchitectureParams
    normalisation: str
    threads: int               # compute.threads_per_task


@dataclass(frozen=True)
class FoldResult:
    predictions: pd.DataFrame  # the fold's test recordings
    probabilities: np.ndarray  # (test recordings, emotions): what the predictions are the argmax of
    ran_on: str                # a Dask worker's address, or host and process id
    seconds: float


def fold_tasks(variant: str, protocol: str, settings: TrainParams, architectures: ArchitectureParams,
               normalisation: str, threads: int, clips: pd.DataFrame, features: Path, folds: pd.DataFrame
               ) -> list[FoldTask]:
    """One task per fold of ``protocol`` for ``variant``."""
    tasks = []
    for fold in fold_names(folds, protocol):
        chosen = folds[(folds["protocol"] == protocol) & (folds["fold"] == fold)]
        tasks.append(FoldTask(variant, protocol, str(fold), clips, chosen.set_index("clip")["subset"],
                              Path(features).resolve(), settings, architectures, normalisation, threads))
    return tasks


def _where() -> str:
    if "distributed" in sys.modules:
        from distributed import get_worker
        try:
            return get_worker().address
        except ValueError:
            pass
    return f"{socket.gethostname()} pid {os.getpid()}"


def train_fold(task: FoldTask) -> FoldResult:
    """Train ``task``'s fold and predict its test recordings."""
    if not logging.getLogger().handlers:     # a fresh worker process: log its epochs as this one does
        setup_logging()
    with _ONE_TRAINING_AT_A_TIME:
        started = time.perf_counter()
        use_threads(task.threads)
        arch, loss = task.variant.split("-")
        data = assemble(task.clips, task.subsets, FeatureStore(task.features))
        bundle, history = train_variant(f"cv {task.variant} {task.protocol} fold {task.fold}", arch, loss,
                                        task.settings, task.architectures, task.normalisation,
                                        data["train"], data["val"])
        test = data["test"]
        probabilities = bundle.predict_proba(test.features, test.n_frames)
        predicted = probabilities.argmax(axis=1)
        table = pd.DataFrame({"protocol": task.protocol, "model": task.variant, "fold": task.fold,
                              "utterance": test.clips["utterance"], "speaker": test.clips["speaker"],
                              "emotion": test.clips["emotion"],
                              "predicted": [EMOTIONS[i] for i in predicted],
                              "epochs_run": len(history)})
        return FoldResult(table, probabilities, _where(), time.perf_counter() - started)


def run_folds(tasks: list[FoldTask], compute: ComputeParams) -> list[FoldResult]:
    """Every task's result, in the order of ``tasks``, trained where ``compute`` says."""
    return run_tasks(train_fold, tasks, compute, "fold trainings")


def cross_validate(tasks: list[FoldTask], compute: ComputeParams) -> pd.DataFrame:
    """Every task's test predictions, in the order of ``tasks``."""
    results = run_folds(tasks, compute)
    for task, result in zip(tasks, results):
        table = result.predictions
        log.info("cv %s %s fold %s: accuracy %.3f on %d, %d epochs, %.0f s on %s", task.variant, task.protocol,
                 task.fold, (table["emotion"] == table["predicted"]).mean(), len(table),
                 table["epochs_run"].iloc[0] if len(table) else 0, result.seconds, result.ran_on)
    return pd.concat([r.predictions for r in results], ignore_index=True)
