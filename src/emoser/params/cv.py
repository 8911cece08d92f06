"""Section ``cv``: the cross-validation protocols, and the trained variants run under them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from emoser.core.config import Section
from emoser.params.networks import VARIANTS

CV_PROTOCOLS = ("loso", "kfold", "leaky")


class CvParams(Section):
    """Cross-validation: which protocols, and which trained variants run under them."""
    protocols: tuple[Literal[CV_PROTOCOLS], ...] = Field(min_length=1)  # type: ignore[valid-type]
    k: int = Field(ge=2, le=20)
    val_fraction: float = Field(gt=0, lt=0.5)
    seed: int
    variants: tuple[str, ...]

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, variants):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
        if len(set(variants)) != len(variants):
            raise ValueError(f"variants listed twice: {list(variants)}")
        return variants
