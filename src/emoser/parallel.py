"""Where the per-clip work of augment, features, opensmile and embeddings runs.

By default joblib's local process pool (each stage's ``jobs``). With ``compute.scheduler`` set
to a Dask scheduler's address, the same ``joblib.Parallel`` calls run on that cluster's
workers instead; the results are identical, so the backend is not a stage dependency.
Workers need this package installed and the repository's folders on a shared file system
(augment writes its clips from the workers).
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import joblib
from pydantic import Field, field_validator

from .config import Section
from .errors import EmoserError

log = logging.getLogger(__name__)


class ComputeParams(Section):
    scheduler: str | None
    connect_timeout_s: float = Field(gt=0)

    @field_validator("scheduler")
    @classmethod
    def _dask_address(cls, address):
        if address is not None and not re.fullmatch(r"(tcp|tls|ucx|inproc)://\S+", address):
            raise ValueError(f"{address!r} is not a Dask scheduler address such as tcp://10.0.0.5:8786 (or null)")
        return address


@contextmanager
def compute_backend(params: ComputeParams) -> Iterator[None]:
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
