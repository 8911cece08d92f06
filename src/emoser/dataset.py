"""The features file (written by stage ``features``) and the model-ready subsets: features of
the clips the split assigned, with their labels."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import paths
from .errors import EmoserError
from .files import atomic_path, read_clips, read_split


@dataclass(frozen=True)
class FeatureSet:
    clips: np.ndarray      # (N,) clip ids
    features: np.ndarray   # (N, n_mfcc + 1, frames) float32, zero after n_frames
    n_frames: np.ndarray   # (N,) real frames per clip

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, clips=self.clips, features=self.features, n_frames=self.n_frames)

    @classmethod
    def load(cls, path: Path) -> FeatureSet:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["clips"], data["features"], data["n_frames"])

    def select(self, clips) -> FeatureSet:
        index = pd.Index(self.clips).get_indexer(list(clips))
        if (index < 0).any():
            raise EmoserError(f"{int((index < 0).sum())} clips have no features; rerun the features stage")
        return FeatureSet(self.clips[index], self.features[index], self.n_frames[index])


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


def load_subsets(names=("train", "val", "test")) -> dict[str, Subset]:
    """The hold-out split's subsets (stages train and evaluate)."""
    split = read_split().set_index("clip")["subset"]
    return assemble(read_clips(), split, FeatureSet.load(paths.FEATURE_FILE), names)
