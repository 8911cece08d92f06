"""Section ``fetch``: where the corpus comes from (a URL or a local copy) and how it is checked."""
from __future__ import annotations

from pydantic import Field

from emoser.core.config import Section


class FetchParams(Section):
    source: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    timeout_s: float = Field(gt=0)
    max_archive_mb: int = Field(gt=0)
