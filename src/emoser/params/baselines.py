"""Section ``baselines``: the SVMs on openSMILE functionals."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from emoser.core.config import Section
from emoser.params.opensmile import OPENSMILE_SETS


class BaselineParams(Section):
    """An SVM on openSMILE functionals."""
    feature_set: Literal[OPENSMILE_SETS]  # type: ignore[valid-type]
    kernel: Literal["linear", "rbf"]
    C: float = Field(gt=0)


class BaselinesParams(Section):
    models: dict[str, BaselineParams] = Field(min_length=1)
    speaker_standardisation: tuple[bool, ...] = Field(min_length=1)
    jobs: int

    @field_validator("models")
    @classmethod
    def _names(cls, models):
        bad = [name for name in models if not name.replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"model names must be letters, digits and _: {bad}")
        return models
