"""Section ``ours``: our model (openSMILE ensemble fused with the voice encoder) and its calibration."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from emoser.core.config import Section
from emoser.params.opensmile import OPENSMILE_SETS


class CalibrationParams(Section):
    """How stage calibrate measures, and fits inside the folds, the calibration of our model's
    probabilities (emoser.models.classical.calibration)."""
    protocol: Literal["loso", "kfold"]
    inner_folds: int | None = Field(default=None, ge=2)   # None: each training speaker held out once
    bins: int = Field(ge=2)


class OursParams(Section):
    """Our model: an ensemble over counts of selected openSMILE features, fused with a model of the
    voice encoder's statistics."""
    feature_set: Literal[OPENSMILE_SETS]  # type: ignore[valid-type]
    feature_counts: tuple[Literal["all"] | int, ...] = Field(min_length=1)
    C: float = Field(gt=0)
    embedding_weight: float = Field(ge=0, le=1)
    speaker_standardisation: tuple[bool, ...] = Field(min_length=1)
    ablation: bool
    calibration: CalibrationParams
    jobs: int

    @field_validator("feature_counts")
    @classmethod
    def _counts(cls, counts):
        bad = [n for n in counts if n != "all" and n < 1]
        if bad:
            raise ValueError(f"feature counts must be positive or 'all', got {bad}")
        if len(set(counts)) != len(counts):
            raise ValueError(f"feature counts listed twice: {list(counts)}")
        return counts
