"""Section ``mlflow``: where stage track logs runs."""
from __future__ import annotations

from pydantic import Field

from emoser.core.config import Section


class MlflowParams(Section):
    tracking_uri: str
    experiment: str = Field(min_length=1)
