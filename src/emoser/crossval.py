"""Cross-validating the trained networks: a variant trained and tested in every fold (stage cv).

Each fold trains one model on that fold's training clips (originals and their copies),
stops early on the fold's val recordings and predicts its test recordings, with the same
code as the hold-out ``train``/``evaluate`` stages. Every fold is an independent task
(``FoldTask`` -> ``train_fold``), run where ``compute`` says (``emoser.parallel.run_tasks``):
here, in local worker processes, one per GPU, or on a Dask cluster. A task seeds itself and sets
its own thread count, so its predictions do not depend on where or after what it ran. Models of
the folds are not kept. Stage train runs its hold-out replicates (one network per seed) as the same
tasks, with ``save_to`` set: those networks are kept.
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

from .corpus import EMOTIONS
from .dataset import FeatureStore, assemble
from .errors import EmoserError
from .files import write_csv
from .folds import fold_names
from .model_files import HISTORY_FILE
from .parallel import ComputeParams, run_tasks
from .runtime import setup_logging
from .training import shipped_facts, train_variant, use_threads
from .variants import ArchitectureParams, TrainParams

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
    # A hold-out replicate (stage train) keeps its network: saved here with these facts added
    # (``training.shipped_facts``'s keywords), its training curve beside it as history.csv.
    save_to: Path | None = None
    shipped: dict | None = None
    name: str | None = None    # the network's name in its facts (default: the fold's)


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
    """Train ``task``'s fold and predict its test recordings: here, or in a new process where TensorFlow
    already runs here with another thread count than the task's (a notebook, a test session)."""
    if not logging.getLogger().handlers:     # a fresh worker process: log its epochs as this one does
        setup_logging()
    try:
        use_threads(task.threads)
    except EmoserError as exc:
        log.info("%s: cv %s %s fold %s trains in a new process", exc, task.variant, task.protocol, task.fold)
        return train_fold_in_new_process(task)
    with _ONE_TRAINING_AT_A_TIME:
        started = time.perf_counter()
        arch, loss = task.variant.split("-")
        data = assemble(task.clips, task.subsets, FeatureStore(task.features))
        bundle, history = train_variant(task.name or f"cv {task.variant} {task.protocol} fold {task.fold}", arch, loss,
                                        task.settings, task.architectures, task.normalisation,
                                        data["train"], data["val"])
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
                              "predicted": [EMOTIONS[i] for i in predicted],
                              "epochs_run": len(history)})
        return FoldResult(table, probabilities, _where(), time.perf_counter() - started)


def train_fold_in_new_process(task: FoldTask) -> FoldResult:
    """``train_fold`` in a new Python process on this machine. A Dask worker is long-lived and runs
    other work (augment's, features') between trainings, and a worker that had run that work trained
    a fold to other weights than a fresh process (tests/test_parallel.py found it); a new interpreter
    carries no such state. It costs one TensorFlow start-up (seconds) per fold (minutes)."""
    with tempfile.TemporaryDirectory(prefix="emoser-fold-") as tmp:
        (Path(tmp) / "task.pkl").write_bytes(pickle.dumps(task))
        done = subprocess.run([sys.executable, "-m", "emoser.crossval", tmp])
        answer = Path(tmp) / "result.pkl"
        if not answer.is_file():
            raise RuntimeError(f"cv {task.variant} {task.protocol} fold {task.fold}: its process on {_where()} "
                               f"ended with exit code {done.returncode} and no result")
        outcome = pickle.loads(answer.read_bytes())
    if isinstance(outcome, BaseException):
        raise outcome
    return replace(outcome, ran_on=_where())


def run_folds(tasks: list[FoldTask], compute: ComputeParams) -> list[FoldResult]:
    """Every task's result, in the order of ``tasks``, trained where ``compute`` says (on a Dask
    cluster, each in a new process on its worker)."""
    function = train_fold if compute.scheduler is None else train_fold_in_new_process
    return run_tasks(function, tasks, compute, "fold trainings")


def cross_validate(tasks: list[FoldTask], compute: ComputeParams) -> pd.DataFrame:
    """Every task's test predictions, in the order of ``tasks``."""
    results = run_folds(tasks, compute)
    for task, result in zip(tasks, results):
        table = result.predictions
        log.info("cv %s %s fold %s: accuracy %.3f on %d, %d epochs, %.0f s on %s", task.variant, task.protocol,
                 task.fold, (table["emotion"] == table["predicted"]).mean(), len(table),
                 table["epochs_run"].iloc[0] if len(table) else 0, result.seconds, result.ran_on)
    return pd.concat([r.predictions for r in results], ignore_index=True)


def _main(folder: Path) -> None:
    """``python -m emoser.crossval FOLDER``: train FOLDER/task.pkl, write FOLDER/result.pkl (or the error)."""
    task = pickle.loads((folder / "task.pkl").read_bytes())
    try:
        outcome: FoldResult | BaseException = train_fold(task)
    except Exception as exc:   # handed back to the caller, which raises it there
        outcome = exc
    (folder / "result.pkl").write_bytes(pickle.dumps(outcome))


if __name__ == "__main__":
    from emoser import crossval  # by its name, not as __main__: its results must unpickle in the caller
    crossval._main(Path(sys.argv[1]))
