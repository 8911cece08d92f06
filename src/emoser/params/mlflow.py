"""Section ``mlflow``: where stage track logs runs, and what one request to the served model
(``mlflow models serve``) may hold (``serve``: stage package writes these limits into models/served;
``emoser.serving.mlflow_model`` enforces them, row by row)."""
from __future__ import annotations

from pydantic import ConfigDict, Field

from emoser.core.config import Section


class ServeParams(Section):
    max_rows: int = Field(ge=1)              # recordings per request; the rows past it get an error each
    max_recording_mb: float = Field(gt=0)    # one recording's file, before base64; a larger one: an error row
    max_seconds: float = Field(gt=0)         # one recording's duration; a longer one: an error row


class MlflowParams(Section):
    tracking_uri: str
    experiment: str = Field(min_length=1)
    serve: ServeParams


class ServeOnly(Section):
    """Only ``mlflow.serve``, for stage package (track validates the section's other keys)."""
    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)
    serve: ServeParams
