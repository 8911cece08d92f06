"""Where the per-clip work of augment, features and opensmile runs.

By default joblib's local process pool (each stage's ``jobs``). With ``compute.scheduler`` set
to a Dask scheduler's address, the same ``joblib.Parallel`` calls run on that cluster's
workers instead; the results are identical, so the backend is not a stage dependency.
Workers need this package installed and the repository's folders on a shared file system
(augment writes its clips from the workers).
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import joblib

from .cli import EmoserError
from .params import ComputeParams

log = logging.getLogger(__name__)


@contextmanager
def compute_backend(params: ComputeParams):
    if params.scheduler is None:
        yield
        return
    from dask.distributed import Client  # only needed for a cluster

    try:
        client = Client(params.scheduler, timeout=params.connect_timeout_s)
    except (OSError, TimeoutError) as exc:
        raise EmoserError(f"compute.scheduler: no Dask scheduler answered at {params.scheduler} "
                          f"within {params.connect_timeout_s:g} s ({exc})") from None
    with client, joblib.parallel_config(backend="dask"):
        workers = client.scheduler_info().get("workers", {})
        log.info("running on the Dask cluster at %s (%d workers)", params.scheduler, len(workers))
        yield
