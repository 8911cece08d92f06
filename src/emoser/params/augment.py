"""Section ``augment``: how many pitch-shifted and time-stretched copies of each recording."""
from __future__ import annotations

from pydantic import Field, field_validator

from emoser.core.config import Section


class AugmentParams(Section):
    seed: int
    pitch_copies: int = Field(ge=0)
    pitch_semitones: float = Field(ge=0, le=12)
    stretch_copies: int = Field(ge=0)
    stretch_rates: tuple[float, float]
    denoise: bool
    jobs: int

    @field_validator("stretch_rates")
    @classmethod
    def _rates_ordered(cls, rates):
        low, high = rates
        if not 0 < low <= high:
            raise ValueError(f"need 0 < low <= high, got {list(rates)}")
        return rates
