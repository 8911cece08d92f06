"""Sections ``corpora`` (every corpus, as equals: where it comes from, how it is laid out, how its
labels map to emotion names, its own fetch limits) and ``roles`` (which corpus plays which part).

Every per-corpus stage runs once per entry of ``corpora`` (a DVC ``matrix``), writing
data/corpora/NAME/. The corpus that ``roles.networks`` names is also augmented, featured, split
(the hold-out protocol) and cross-validated for the report's networks; every other difference
between corpora is in their params, never in code.
"""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field

from emoser.core.config import Section
from emoser.core.errors import EmoserError

LAYOUTS = ("emodb", "ravdess", "nemo", "csv")   # emoser.corpora.layouts reads each; docs/corpora.md
CORPUS_NAME = r"^[a-z][a-z0-9_]*$"       # a folder name (data/corpora/NAME) and a report label


class CorpusParams(Section):
    """One corpus: its layout, its source (URL, zip, folder; a table for ``csv``), its label map and
    the limits of fetching it."""
    layout: Literal[LAYOUTS]  # type: ignore[valid-type]
    title: str | None = None   # its name on pages and in tables; None: the corpus's key
    source: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    # the corpus's own label -> the emotion name used everywhere (null: drop its recordings);
    # empty: the layout's names as they are. A label the map does not name is an error.
    labels: dict[str, str | None] = Field(default_factory=dict)
    timeout_s: float = Field(gt=0)      # per network read
    max_archive_mb: int = Field(gt=0)   # refuse archives (or their contents) larger than this


class RolesParams(Section):
    """Which corpus plays which part (each a key of ``corpora``)."""
    # augmented, featured and split (the hold-out protocol) for the report's networks, which train
    # and are cross-validated on it; our served model is fitted on it and calibrated under its folds
    networks: str = Field(pattern=CORPUS_NAME)
    # the corpora our model (stage fit: the served model) trains on, over the union of their emotions
    # (each corpus weighed equally within an emotion), and that stage loco holds out one at a time
    ours: Literal["all"] | tuple[str, ...] = "all"


def corpus_title(name: str, corpus: CorpusParams | None) -> str:
    """The corpus's name on pages: its ``title``, else its key."""
    return corpus.title if corpus is not None and corpus.title else name


def check_corpora(corpora: dict[str, CorpusParams], roles: RolesParams) -> None:
    """Folder-safe names, and every role naming a corpus of the list."""
    for name in corpora:
        if not re.match(CORPUS_NAME, name):
            raise ValueError(f"corpora.{name}: a corpus name is lower-case letters, digits and _")
    if roles.networks not in corpora:
        raise ValueError(f"roles.networks: {roles.networks!r} is not in corpora ({', '.join(corpora) or 'none'})")
    unknown = [name for name in roles.ours if name not in corpora] if roles.ours != "all" else []
    if unknown:
        raise ValueError(f"roles.ours: {unknown[0]!r} is not in corpora ({', '.join(corpora) or 'none'})")
    if roles.ours != "all" and not roles.ours:
        raise ValueError("roles.ours: names no corpus (a list of corpora, or all)")


def training_corpora(corpora, roles: RolesParams) -> list[str]:
    """The corpora our model trains on (``roles.ours``), in params order."""
    return list(corpora) if roles.ours == "all" else [name for name in corpora if name in roles.ours]


def chosen(corpora: dict[str, CorpusParams], name: str) -> CorpusParams:
    """The params of corpus ``name``; an unknown name is one error naming the key."""
    if name not in corpora:
        raise EmoserError(f"corpora.{name}: no such corpus in params.yaml (corpora has {', '.join(corpora) or 'none'})")
    return corpora[name]
