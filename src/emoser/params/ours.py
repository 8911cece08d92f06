"""Section ``ours``: our model (views of each recording fused, weights chosen inside the folds) and its
calibration."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from emoser.core.config import Section
from emoser.params.opensmile import OPENSMILE_SETS
from emoser.params.whisper import check_layers

# The views our model can fuse are plug-ins (emoser.features.views.VIEWS: compare, voice, whisper);
# a name no view has is refused there, by stage ours, naming this key.


class FusionParams(Section):
    """Which views are fused and with what weights on their probabilities: ``nested`` chooses them in
    each training fold, from held-out groups of its own training speakers, on a grid of ``step``."""
    views: tuple[str, ...] = Field(min_length=1)
    weights: Literal["nested"] | dict[str, float]
    step: float = Field(gt=0, le=1)
    inner_folds: int = Field(ge=2)

    @model_validator(mode="after")
    def _consistent(self):
        if len(set(self.views)) != len(self.views):
            raise ValueError(f"views listed twice: {list(self.views)}")
        if abs(round(1 / self.step) * self.step - 1) > 1e-9:
            raise ValueError(f"step {self.step} does not divide 1 (0.1, 0.125, 0.25, ...)")
        if isinstance(self.weights, dict):
            if set(self.weights) != set(self.views):
                raise ValueError(f"weights name {sorted(self.weights)}, views are {list(self.views)}")
            if any(w < 0 for w in self.weights.values()) or abs(sum(self.weights.values()) - 1) > 1e-6:
                raise ValueError(f"weights {self.weights} must be >= 0 and sum to 1")
        return self


class CalibrationParams(Section):
    """How stage calibrate measures, and fits inside the folds, the calibration of our model's
    probabilities (emoser.models.classical.calibration)."""
    protocol: Literal["loso", "kfold"]
    inner_folds: int | None = Field(default=None, ge=2)   # None: each training speaker held out once
    bins: int = Field(ge=2)


class OursParams(Section):
    """Our model: an ensemble over counts of selected openSMILE features, and a model of each
    pretrained encoder's statistics, fused."""
    feature_set: Literal[OPENSMILE_SETS]  # type: ignore[valid-type]
    feature_counts: tuple[Literal["all"] | int, ...] = Field(min_length=1)
    C: float = Field(gt=0)
    whisper_layers: tuple[int, ...] = Field(min_length=1)
    fusion: FusionParams
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

    @field_validator("whisper_layers")
    @classmethod
    def _layers(cls, layers):
        return check_layers(layers)
