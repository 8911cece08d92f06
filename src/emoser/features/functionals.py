"""One vector per recording, as the per-recording stages store them (opensmile, embeddings)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoser.core.errors import EmoserError


@dataclass(frozen=True)
class Functionals:
    """One vector per recording: openSMILE's functionals (emoser.features.opensmile) or the voice
    encoder's statistics (emoser.features.voice_encoder)."""
    utterances: np.ndarray   # (n,) str
    names: np.ndarray        # (d,) str, the features' names
    values: np.ndarray       # (n, d) float32

    def save(self, path: Path) -> None:
        np.savez(path, utterances=self.utterances, names=self.names, values=self.values)

    @classmethod
    def load(cls, path: Path) -> Functionals:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["utterances"], data["names"], data["values"])

    def select(self, utterances) -> np.ndarray:
        wanted = list(utterances)
        index = pd.Index(self.utterances).get_indexer(wanted)
        if (index < 0).any():
            missing = [u for u, i in zip(wanted, index) if i < 0]
            raise EmoserError(f"{len(missing)} recordings have no features here (first: {missing[0]}); "
                              "rerun the stage that extracts them")
        return self.values[index]
