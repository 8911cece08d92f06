"""Where the work runs: the per-clip work of augment, features, opensmile and embeddings
(``compute_backend``), and the training tasks of cv (``run_tasks``).

By default local processes: joblib's pool for the clips (each stage's ``jobs``), and for the
trainings one process per GPU, or ``compute.tasks`` processes of ``compute.threads_per_task``
threads each. With ``compute.scheduler`` set to a Dask scheduler's address, the same work runs
on that cluster's workers instead; the results are identical, so the backend is not a stage
dependency (the thread count is: it changes a training's floating-point sums). Workers need
this package installed and the repository's folders on a shared file system (augment writes its
clips from the workers, training tasks read the features file).
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from queue import Queue
from typing import TypeVar

import joblib

from emoser.core.errors import EmoserError
from emoser.params.compute import ComputeParams

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


def connect(params: ComputeParams):
    """A client of the Dask scheduler at ``compute.scheduler``, or one clear error."""
    from dask.distributed import Client  # only needed for a cluster

    try:
        return Client(params.scheduler, timeout=params.connect_timeout_s)
    except (OSError, TimeoutError) as exc:
        raise EmoserError(f"compute.scheduler: no Dask scheduler answered at {params.scheduler} "
                          f"within {params.connect_timeout_s:g} s ({exc})") from None


@contextmanager
def compute_backend(params: ComputeParams) -> Iterator[None]:
    if params.scheduler is None:
        yield
        return
    with connect(params) as client, joblib.parallel_config(backend="dask"):
        workers = client.scheduler_info().get("workers", {})
        log.info("running on the Dask cluster at %s (%d workers)", params.scheduler, len(workers))
        yield


def visible_gpus() -> list[str]:
    """The GPUs a training task may use, without importing TensorFlow: CUDA_VISIBLE_DEVICES when set
    (empty or -1: none), else those `nvidia-smi -L` lists (none where it is missing)."""
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [d for d in (part.strip() for part in listed.split(",")) if d and not d.startswith("-")]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        found = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [str(i) for i, line in enumerate(found.stdout.splitlines()) if line.startswith("GPU ")]


def local_workers(params: ComputeParams, n_items: int) -> int:
    """How many tasks run at once on this machine: one per GPU where there are GPUs, else
    ``compute.tasks`` (null: the cores divided by ``compute.threads_per_task``)."""
    gpus = visible_gpus()
    wanted = len(gpus) if gpus else params.tasks or max(1, (os.cpu_count() or 1) // params.threads_per_task)
    return max(1, min(wanted, n_items))


def _claim_gpu(gpus: Queue) -> None:
    """Process-pool initialiser: this worker process sees one GPU of its own (set before TensorFlow loads)."""
    os.environ["CUDA_VISIBLE_DEVICES"] = gpus.get()


def run_tasks(function: Callable[[T], R], items: Sequence[T], params: ComputeParams, what: str) -> list[R]:
    """``function`` over ``items`` (training tasks: minutes each), results in the order of ``items``.

    On the Dask cluster at ``compute.scheduler`` when set; else one worker process per GPU, or
    ``local_workers`` CPU processes (spawned: TensorFlow does not survive a fork), or, where that is
    one, here in this process. Each task seeds itself and sets its own thread count, so where it ran
    does not change what it returns."""
    if not items:
        return []
    if params.scheduler is not None:
        client = connect(params)
        with client:
            workers = client.scheduler_info().get("workers", {})
            log.info("%d %s on the Dask cluster at %s (%d workers)", len(items), what, params.scheduler, len(workers))
            futures = client.map(function, list(items), pure=False)
            return client.gather(futures)
    workers = local_workers(params, len(items))
    if workers == 1:
        log.info("%d %s, one after another in this process", len(items), what)
        return [function(item) for item in items]
    gpus = visible_gpus()
    context = multiprocessing.get_context("spawn")
    claim: dict = {}
    if gpus:
        queue = context.Manager().Queue()
        for gpu in gpus[:workers]:
            queue.put(gpu)
        claim = {"initializer": _claim_gpu, "initargs": (queue,)}
    log.info("%d %s in %d worker processes%s", len(items), what, workers,
             f" (one per GPU: {', '.join(gpus[:workers])})" if gpus else
             f" ({params.threads_per_task} thread{'s' if params.threads_per_task > 1 else ''} each)")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, **claim) as pool:
        return list(pool.map(function, items))
