"""Section ``audio``: the sample rate every stage reads recordings at."""
from __future__ import annotations

from pydantic import Field

from emoser.core.config import Section


class AudioParams(Section):
    sample_rate: int = Field(ge=4000, le=96000)
