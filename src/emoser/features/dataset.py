"""The features folder (written by stage ``features``) and the model-ready subsets: the clips
the split assigned, with their labels, and their features read from disk as they are needed."""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir, read_clips, read_split

ARRAY = "features.npy"       # (N, n_mfcc + 1, frames) float32, zero after each clip's n_frames
CLIP_IDS = "clips.npy"       # (N,) clip ids, in the order of the array's rows
N_FRAMES = "n_frames.npy"    # (N,) real frames per clip


def write_features(folder: Path, clips: np.ndarray, rows: Iterable[tuple[np.ndarray, int]],
                   shape: tuple[int, int]) -> np.ndarray:
    """Write the features folder, one clip's (features, n_frames) at a time as ``rows`` yields them:
    the array is never whole in memory (``--scale 10`` makes it ~1 GB). Returns n_frames."""
    n_frames = np.empty(len(clips), dtype=np.int32)
    with atomic_dir(folder) as tmp:
        with open(tmp / ARRAY, "wb") as f:
            np.lib.format.write_array_header_1_0(
                f, {"descr": np.lib.format.dtype_to_descr(np.dtype("<f4")), "fortran_order": False,
                    "shape": (len(clips), *shape)})
            count = 0
            for i, (features, n) in enumerate(rows):
                if features.shape != shape:
                    raise EmoserError(f"{clips[i]}: features of shape {features.shape}, expected {shape}")
                f.write(np.ascontiguousarray(features, dtype="<f4").tobytes())
                n_frames[i], count = n, i + 1
            if count != len(clips):
                raise EmoserError(f"features for {count} of {len(clips)} clips")
        np.save(tmp / CLIP_IDS, np.asarray(clips, dtype=str))
        np.save(tmp / N_FRAMES, n_frames)
    return n_frames


class FeatureStore:
    """The features folder, read a few rows at a time (``rows``): a training streams its batches from
    disk, so memory does not grow with the corpus. Reads with ``os.pread`` rather than a memory map,
    whose touched pages would count as the process's own memory."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.clips = np.load(self.folder / CLIP_IDS, allow_pickle=False)     # FileNotFoundError: see runtime
        self.n_frames = np.load(self.folder / N_FRAMES, allow_pickle=False)
        with open(self.folder / ARRAY, "rb") as f:
            version = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                           else np.lib.format.read_array_header_2_0)
            shape, fortran, dtype = read_header(f)
            self._offset = f.tell()
        if fortran or dtype != np.dtype("<f4") or shape[0] != len(self.clips):
            raise EmoserError(f"{self.folder / ARRAY}: not a features array of {len(self.clips)} float32 rows")
        self.shape = tuple(shape)
        self._row_bytes = int(np.prod(shape[1:])) * 4
        self._positions = pd.Index(self.clips)

    def __len__(self) -> int:
        return len(self.clips)

    def positions(self, clips) -> np.ndarray:
        index = self._positions.get_indexer(list(clips))
        if (index < 0).any():
            raise EmoserError(f"{int((index < 0).sum())} clips have no features; rerun the features stage")
        return index

    def rows(self, positions: np.ndarray) -> np.ndarray:
        """The features at ``positions`` (rows of the array), in that order."""
        out = np.empty((len(positions), *self.shape[1:]), dtype=np.float32)
        view = out.reshape(len(positions), -1).view(np.uint8)
        fd = os.open(self.folder / ARRAY, os.O_RDONLY)
        try:
            for i, position in enumerate(np.asarray(positions, dtype=np.int64)):
                chunk = os.pread(fd, self._row_bytes, self._offset + int(position) * self._row_bytes)
                if len(chunk) != self._row_bytes:
                    raise EmoserError(f"{self.folder / ARRAY}: cut short at row {position}")
                view[i] = np.frombuffer(chunk, dtype=np.uint8)
        finally:
            os.close(fd)
        return out


@dataclass(frozen=True)
class Subset:
    """Some clips' rows of clips.csv, and where their features are; the features are read on demand."""
    clips: pd.DataFrame     # rows of clips.csv, in the order of ``positions``
    store: FeatureStore
    positions: np.ndarray   # each clip's row in the store

    @property
    def n_frames(self) -> np.ndarray:
        return self.store.n_frames[self.positions]

    @property
    def features(self) -> np.ndarray:
        """All the subset's features, in memory (test and val sets; training streams ``read``)."""
        return self.store.rows(self.positions)

    def read(self, items: np.ndarray) -> np.ndarray:
        """The features of the subset's items ``items`` (indices into this subset)."""
        return self.store.rows(self.positions[items])

    @property
    def labels(self) -> np.ndarray:
        return self.clips["label"].to_numpy(dtype=np.int64)

    def __len__(self) -> int:
        return len(self.clips)


def assemble(clips: pd.DataFrame, subset: pd.Series, store: FeatureStore,
             names=("train", "val", "test")) -> dict[str, Subset]:
    """The named subsets, given ``subset`` (index: clip id) for the rows of ``clips``."""
    clips = clips.assign(subset=clips["clip"].map(subset))
    subsets = {}
    for name in names:
        rows = clips[clips["subset"] == name].reset_index(drop=True)
        subsets[name] = Subset(rows, store, store.positions(rows["clip"]))
    return subsets


def load_subsets(corpus: paths.CorpusData, names=("train", "val", "test")) -> dict[str, Subset]:
    """The hold-out split's subsets of the networks' corpus (stage evaluate)."""
    split = read_split(corpus.split).set_index("clip")["subset"]
    return assemble(read_clips(corpus.clips), split, FeatureStore(corpus.features), names)
