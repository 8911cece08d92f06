"""The views of each recording that our model fuses (``ours.fusion.views``), read from the files of
the stages that extract them: opensmile (``compare``: the ``ours.feature_set`` functionals),
embeddings (``voice``) and whisper (``whisper``: the layers ``ours.whisper_layers`` of those stored)."""
from __future__ import annotations

import numpy as np

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals
from emoser.params.ours import OursParams


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
    views: dict[str, np.ndarray] = {}
    for view in params.fusion.views:
        if view == "compare":
            views[view] = Functionals.load(corpus.opensmile / f"{params.feature_set}.npz").select(utterances)
        elif view == "voice":
            views[view] = Functionals.load(corpus.voice_encoder).select(utterances)
        else:
            statistics = Functionals.load(corpus.whisper)
            views[view] = statistics.select(utterances)[:, whisper_columns(statistics.names, params.whisper_layers)]
    return views
