"""Section ``evaluate``: how every test set is scored (bootstrap intervals)."""
from __future__ import annotations

from pydantic import Field

from emoser.core.config import Section


class EvaluateParams(Section):
    """How every test set is scored: bootstrap intervals over test recordings."""
    bootstrap_resamples: int = Field(ge=100)
    ci_level: float = Field(gt=0, lt=1)
    seed: int
