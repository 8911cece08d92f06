"""Section ``compute``: where training tasks run (local processes, GPUs or a Dask scheduler)."""
from __future__ import annotations

import re

from pydantic import Field, field_validator

from emoser.core.config import Section


class ExtractParams(Section):
    """Section ``opensmile`` or ``embeddings``: a per-recording extraction stage's worker processes."""
    jobs: int                # joblib workers; -1 = all cores


class ComputeParams(Section):
    scheduler: str | None
    connect_timeout_s: float = Field(gt=0)
    threads_per_task: int = Field(ge=1)
    tasks: int | None = Field(ge=1)

    @field_validator("scheduler")
    @classmethod
    def _dask_address(cls, address):
        if address is not None and not re.fullmatch(r"(tcp|tls|ucx|inproc)://\S+", address):
            raise ValueError(f"{address!r} is not a Dask scheduler address such as tcp://10.0.0.5:8786 (or null)")
        return address
