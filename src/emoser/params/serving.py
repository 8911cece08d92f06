"""Section ``serving``: what one request to the served MLflow model may hold (stage package writes
these limits into models/served; ``emoser.serving.mlflow_model`` enforces them, row by row)."""
from __future__ import annotations

from pydantic import Field

from emoser.core.config import Section


class ServingParams(Section):
    max_rows: int = Field(ge=1)              # recordings per request; the rows past it get an error each
    max_recording_mb: float = Field(gt=0)    # one recording's file, before base64; a larger one: an error row
    max_seconds: float = Field(gt=0)         # one recording's duration; a longer one: an error row
