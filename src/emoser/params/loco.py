"""Section ``loco``: leave-one-corpus-out, our model trained on every corpus of ``roles.ours`` but one
and scored on that one (stage loco; emoser.models.classical.loco)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from emoser.core.config import Section

ADAPTATIONS = ("none", "corpus", "corpus_robust", "speaker")


class LocoParams(Section):
    """Which adaptations to score: ``none`` (the model as it is), ``corpus`` (each corpus's features
    z-scored over its own recordings, the held-out corpus's included: its unlabelled audio) and
    ``corpus_robust`` (the same with the median and the interquartile range) and ``speaker`` (each
    speaker z-scored over their own recordings)."""
    adaptation: tuple[Literal[ADAPTATIONS], ...] = Field(min_length=1)  # type: ignore[valid-type]
    jobs: int
