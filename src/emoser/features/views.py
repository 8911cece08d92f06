"""The views of a recording that our model fuses (``ours.fusion.views``), as plug-ins: one ``View``
each, in one registry (``VIEWS``), so that fusion, stage ours and ``emoser predict --model
models/ours`` iterate the registry and a new view touches no other module.

A view says its name, the title of its row in the report, the extractor that stores it for a corpus
and what that costs, which kind of model fits it (``ensemble``: the feature-count ensemble of
``emoser.models.classical.fusion``; ``embedding``: one standardised logistic regression), how its
stored features are read for a corpus (``load``) and how the training libraries compute it for one
recording (``extractor`` once, then ``compute`` per window). Its served side (numpy only, packed by
stage package) is ``emoser.serving.served.SERVED_VIEWS[name]``; a test keeps the two registries'
names equal.

The three views: openSMILE ComParE functionals (extractor opensmile, the ``ours.feature_set``
functionals), the voice encoder's statistics (extractor embeddings) and Whisper's encoder statistics
(extractor whisper: the layers ``ours.whisper_layers`` of those stored); stage extract stores each
(``emoser.features.extractors``).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals
from emoser.params.ours import OursParams


@dataclass(frozen=True)
class View:
    """One view of a recording: see the module's docstring."""
    name: str                  # in params ours.fusion.views
    title: str                 # its row in the ablation and the report
    stage: str                 # the extractor that stores it for a corpus (stage extract@NAME-<this>)
    cost: str                  # what extracting it costs, measured (docs/benchmark.md)
    model: Literal["ensemble", "embedding"]
    load: Callable[[paths.CorpusData, OursParams, Any], np.ndarray]   # (corpus, params, utterances) -> rows
    extractor: Callable[[dict], Any]                        # model facts -> the training library, set up once
    compute: Callable[[Any, np.ndarray, int, dict], np.ndarray]   # (extractor, window, rate, facts) -> features


VIEWS: dict[str, View] = {}


def register(view: View) -> View:
    """Add ``view`` to the registry (its name must be new)."""
    if view.name in VIEWS:
        raise EmoserError(f"view {view.name!r} is registered twice")
    VIEWS[view.name] = view
    return view


def view(name: str) -> View:
    """The registered view ``name``; an unknown name is one error naming the params key."""
    if name not in VIEWS:
        raise EmoserError(f"ours.fusion.views: no view {name!r} (known: {', '.join(VIEWS)})")
    return VIEWS[name]


def whisper_columns(names: np.ndarray, layers) -> np.ndarray:
    """The columns of the chosen layers' statistics (named ``whisper<layer>_...``), in layer order."""
    columns = [np.flatnonzero(np.char.startswith(names.astype(str), f"whisper{i}_")) for i in layers]
    missing = [i for i, c in zip(layers, columns) if not len(c)]
    if missing:
        raise EmoserError(f"ours.whisper_layers: layer(s) {missing} are not in the whisper stage's output "
                          "(params whisper.layers lists those it stores)")
    return np.concatenate(columns)


def load_views(corpus: paths.CorpusData, params: OursParams, utterances) -> dict[str, np.ndarray]:
    """{view: (recordings, features)} for ``params.fusion.views``, rows in ``utterances``' order."""
    return {name: view(name).load(corpus, params, utterances) for name in params.fusion.views}


# --- the views -------------------------------------------------------------------------------------

def _load_compare(corpus: paths.CorpusData, params: OursParams, utterances) -> np.ndarray:
    return Functionals.load(corpus.opensmile / f"{params.feature_set}.npz").select(utterances)


def _compare_extractor(facts: dict):
    from emoser.features.opensmile import extractor

    return extractor(facts["feature_set"])


def _compute_compare(smile, part: np.ndarray, rate: int, facts: dict) -> np.ndarray:
    from emoser.features.opensmile import functionals_of

    return functionals_of(smile, part, rate)


def _load_voice(corpus: paths.CorpusData, params: OursParams, utterances) -> np.ndarray:
    return Functionals.load(corpus.voice_encoder).select(utterances)


def _voice_extractor(facts: dict):
    from emoser.features.voice_encoder import load_encoder

    return load_encoder()


def _compute_voice(encoder, part: np.ndarray, rate: int, facts: dict) -> np.ndarray:
    from emoser.features.voice_encoder import layer_statistics, prepare

    return layer_statistics(encoder, prepare(part, rate))


def _load_whisper(corpus: paths.CorpusData, params: OursParams, utterances) -> np.ndarray:
    statistics = Functionals.load(corpus.whisper)
    return statistics.select(utterances)[:, whisper_columns(statistics.names, params.whisper_layers)]


def _whisper_extractor(facts: dict):
    from emoser.features.whisper import load_encoder

    return load_encoder()


def _compute_whisper(encoder, part: np.ndarray, rate: int, facts: dict) -> np.ndarray:
    from emoser.features.whisper import layer_statistics

    whisper = facts["whisper"]
    return layer_statistics(encoder, part, rate, whisper["window_s"], facts["params"]["whisper_layers"],
                            whisper["pooling"])


# cost: the stage's time for Emo-DB's 535 recordings on 2 cores (2026-12-05, Intel Xeon; 2026-11, AMD EPYC)
register(View("compare", "ComParE ensemble", "opensmile",
              "openSMILE's C library, both feature sets: 20 s (AMD EPYC) to 70 s (Intel Xeon, shared)",
              "ensemble", _load_compare, _compare_extractor, _compute_compare))
register(View("voice", "voice encoder", "embeddings", "Resemblyzer's LSTM in PyTorch: 19 s (Intel Xeon)",
              "embedding", _load_voice, _voice_extractor, _compute_voice))
register(View("whisper", "Whisper encoder", "whisper",
              "Whisper base's encoder in PyTorch, 4-s windows: 43 s (Intel Xeon), 44 s (AMD EPYC)",
              "embedding", _load_whisper, _whisper_extractor, _compute_whisper))
