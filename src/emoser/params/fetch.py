"""Sections ``fetch`` (the main corpus: every stage runs on it) and ``corpora`` (further corpora,
scored by the classical models and across corpora): where each comes from, how it is laid out and
how its labels map to emotion names."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from emoser.core.config import Section

LAYOUTS = ("emodb", "ravdess", "csv")   # emoser.corpora.layouts reads each; docs/corpora.md
CORPUS_NAME = r"^[a-z][a-z0-9_]*$"       # a folder name (data/corpora/NAME) and a report label


class CorpusParams(Section):
    """One corpus: its layout, its source (URL, zip, folder; a table for ``csv``) and its label map."""
    layout: Literal[LAYOUTS]  # type: ignore[valid-type]
    source: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    # the corpus's own label -> the emotion name used everywhere (null: drop its recordings);
    # empty: the layout's names as they are. A label the map does not name is an error.
    labels: dict[str, str | None] = Field(default_factory=dict)


class FetchParams(CorpusParams):
    corpus: str = Field(default="emodb", pattern=CORPUS_NAME)   # the main corpus's name in reports
    timeout_s: float = Field(gt=0)
    max_archive_mb: int = Field(gt=0)


class CorpusName(BaseModel):
    """Only the main corpus's name from section ``fetch``, for a stage that names it in its results
    (report, corpora); stage fetch validates the rest."""
    model_config = ConfigDict(extra="ignore", frozen=True)
    corpus: str = "emodb"
