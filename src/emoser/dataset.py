"""The model-ready subsets: features of the clips the split assigned, with their labels."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import paths
from .features import FeatureSet


@dataclass(frozen=True)
class Subset:
    clips: pd.DataFrame     # rows of clips.csv, in the order of the arrays
    features: np.ndarray
    n_frames: np.ndarray

    @property
    def labels(self) -> np.ndarray:
        return self.clips["label"].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self.clips)


def assemble(clips: pd.DataFrame, subset: pd.Series, feature_set: FeatureSet,
             names=("train", "val", "test")) -> dict[str, Subset]:
    """The named subsets, given ``subset`` (index: clip id) for the rows of ``clips``."""
    clips = clips.assign(subset=clips["clip"].map(subset))
    subsets = {}
    for name in names:
        rows = clips[clips["subset"] == name].reset_index(drop=True)
        chosen = feature_set.select(rows["clip"])
        subsets[name] = Subset(rows, chosen.features, chosen.n_frames)
    return subsets


def load_clips() -> pd.DataFrame:
    return pd.read_csv(paths.CLIPS, dtype={"speaker": str})


def load_subsets(names=("train", "val", "test")) -> dict[str, Subset]:
    split = pd.read_csv(paths.SPLIT).set_index("clip")["subset"]
    return assemble(load_clips(), split, FeatureSet.load(paths.FEATURE_FILE), names)
