"""Training a network as a task: one fold of stage cv, or one seed of stage train.

A ``TrainingTask`` carries everything one training needs (the features are read from their folder)
and ``train_task`` runs it where ``compute`` says (``emoser.compute.backend.run_tasks``): here, in
local worker processes, one per GPU, or on a Dask cluster. A task seeds itself and sets its own
thread count, so its result does not depend on where or after what it ran. A task with ``save_to``
keeps its network (stage train's replicates); the folds' networks are not kept.
"""
from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from emoser.compute.backend import run_tasks
from emoser.core.errors import EmoserError
from emoser.core.files import write_csv
from emoser.core.runtime import setup_logging
from emoser.corpora.manifest import emotion_order
from emoser.features.dataset import FeatureStore, assemble
from emoser.models.networks.saved import HISTORY_FILE
from emoser.params.compute import ComputeParams
from emoser.params.networks import ArchitectureParams, TrainParams

log = logging.getLogger(__name__)

# Keras seeds are process-wide: a Dask worker with several threads must not train two folds at once.
_ONE_TRAINING_AT_A_TIME = threading.Lock()


@dataclass(frozen=True)
class TrainingTask:
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
    # A hold-out replicate (stage train) keeps its network: saved here with these facts added
    # (``training.shipped_facts``'s keywords), its training curve beside it as history.csv.
    save_to: Path | None = None
    shipped: dict | None = None
    name: str | None = None    # the network's name in its facts (default: the fold's)


@dataclass(frozen=True)
class TrainingResult:
    predictions: pd.DataFrame  # the fold's test recordings
    probabilities: np.ndarray  # (test recordings, emotions): what the predictions are the argmax of
    ran_on: str                # a Dask worker's address, or host and process id
    seconds: float


def _where() -> str:
    if "distributed" in sys.modules:
        from distributed import get_worker
        try:
            return get_worker().address
        except ValueError:
            pass
    return f"{socket.gethostname()} pid {os.getpid()}"


def train_task(task: TrainingTask) -> TrainingResult:
    """Train ``task``'s fold and predict its test recordings: here, or in a new process where TensorFlow
    already runs here with another thread count than the task's (a notebook, a test session)."""
    # TensorFlow loads here, where a network trains: a stage that hands its tasks to worker processes
    # does not start it too (~5 s of CPU per stage on 2 cores)
    from emoser.models.networks.training import shipped_facts, train_variant, use_threads

    if not logging.getLogger().handlers:     # a fresh worker process: log its epochs as this one does
        setup_logging()
    try:
        use_threads(task.threads)
    except EmoserError as exc:
        log.info("%s: cv %s %s fold %s trains in a new process", exc, task.variant, task.protocol, task.fold)
        return train_in_new_process(task)
    with _ONE_TRAINING_AT_A_TIME:
        started = time.perf_counter()
        arch, loss = task.variant.split("-")
        data = assemble(task.clips, task.subsets, FeatureStore(task.features))
        emotions = emotion_order(task.clips)
        bundle, history = train_variant(task.name or f"cv {task.variant} {task.protocol} fold {task.fold}", arch, loss,
                                        task.settings, task.architectures, task.normalisation,
                                        data["train"], data["val"], emotions)
        if task.save_to is not None:
            bundle.facts = shipped_facts(bundle.facts, **(task.shipped or {}))
            bundle.save(task.save_to)
            write_csv(task.save_to / HISTORY_FILE, history.round(6))
        test = data["test"]
        probabilities = bundle.predict_proba(test.features, test.n_frames)
        predicted = probabilities.argmax(axis=1)
        table = pd.DataFrame({"protocol": task.protocol, "model": task.variant, "fold": task.fold,
                              "utterance": test.clips["utterance"], "speaker": test.clips["speaker"],
                              "emotion": test.clips["emotion"],
                              "predicted": [emotions[i] for i in predicted],
                              "epochs_run": len(history)})
        return TrainingResult(table, probabilities, _where(), time.perf_counter() - started)


def train_in_new_process(task: TrainingTask) -> TrainingResult:
    """``train_task`` in a new Python process on this machine. A Dask worker is long-lived and runs
    other work (augment's, features') between trainings, and a worker that had run that work trained
    a fold to other weights than a fresh process (tests/test_parallel.py found it); a new interpreter
    carries no such state. It costs one TensorFlow start-up (seconds) per fold (minutes)."""
    with tempfile.TemporaryDirectory(prefix="emoser-fold-") as tmp:
        (Path(tmp) / "task.pkl").write_bytes(pickle.dumps(task))
        done = subprocess.run([sys.executable, "-m", "emoser.models.networks.tasks", tmp])
        answer = Path(tmp) / "result.pkl"
        if not answer.is_file():
            raise RuntimeError(f"cv {task.variant} {task.protocol} fold {task.fold}: its process on {_where()} "
                               f"ended with exit code {done.returncode} and no result")
        outcome = pickle.loads(answer.read_bytes())
    if isinstance(outcome, BaseException):
        raise outcome
    return replace(outcome, ran_on=_where())


def run_trainings(tasks: list[TrainingTask], compute: ComputeParams) -> list[TrainingResult]:
    """Every task's result, in the order of ``tasks``, trained where ``compute`` says (on a Dask
    cluster, each in a new process on its worker)."""
    function = train_task if compute.scheduler is None else train_in_new_process
    return run_tasks(function, tasks, compute, "fold trainings")


def _main(folder: Path) -> None:
    """``python -m emoser.models.networks.tasks FOLDER``: train FOLDER/task.pkl, write FOLDER/result.pkl
    (or the error)."""
    task = pickle.loads((folder / "task.pkl").read_bytes())
    try:
        outcome: TrainingResult | BaseException = train_task(task)
    except Exception as exc:   # handed back to the caller, which raises it there
        outcome = exc
    (folder / "result.pkl").write_bytes(pickle.dumps(outcome))


if __name__ == "__main__":
    from emoser.models.networks import tasks  # by its name, not as __main__: its results must unpickle in the caller
    tasks._main(Path(sys.argv[1]))
