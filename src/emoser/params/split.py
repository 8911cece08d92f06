"""Section ``split``: the hold-out split's protocol, fractions and speakers."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from emoser.core.config import Section

SPLIT_PROTOCOLS = ("utterance", "speaker", "leaky")


def _speaker_id(value) -> str:
    """Speaker ids are text; YAML reads an unquoted 03 as the number 3, so numbers are written with two
    digits (Emo-DB's and RAVDESS's ids). Stage split checks them against the corpus's manifest."""
    return f"{value:02d}" if isinstance(value, int) else str(value)


class SplitParams(Section):
    protocol: Literal[SPLIT_PROTOCOLS]  # type: ignore[valid-type]
    train: float = Field(gt=0, lt=1)
    val: float = Field(gt=0, lt=1)
    test: float = Field(gt=0, lt=1)
    val_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]
    seed: int

    @field_validator("val_speakers", "test_speakers", mode="before")
    @classmethod
    def _speakers(cls, value):
        return tuple(_speaker_id(v) for v in value)

    @model_validator(mode="after")
    def _consistent(self):
        total = self.train + self.val + self.test
        if abs(total - 1) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        both = sorted(set(self.val_speakers) & set(self.test_speakers))
        if both:
            raise ValueError(f"speakers {both} are listed for both val and test")
        if not self.val_speakers or not self.test_speakers:
            raise ValueError("val_speakers and test_speakers must each name at least one speaker")
        return self
