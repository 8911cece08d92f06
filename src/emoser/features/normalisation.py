"""Feature normalisation, fitted on the training set in the train stage and stored with the model.

Features are stored unnormalised (stage ``features``), because statistics may only come from
the training set, which the split decides later.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def frame_mask(n_frames: np.ndarray, length: int) -> np.ndarray:
    return np.arange(length)[None, :] < np.asarray(n_frames)[:, None]


def fit_normaliser(features: np.ndarray | Callable[[np.ndarray], np.ndarray], n_frames: np.ndarray,
                   chunk: int = 1024) -> dict[str, np.ndarray]:
    """Per-row mean and std over the real (unpadded) frames of a training set, float64 sums.

    ``features``: an array (clips, rows, frames), or a function giving the rows of the clips it is
    asked for (``dataset.Subset.read``: a training set read from its store a chunk of clips at a time)."""
    read = features.__getitem__ if isinstance(features, np.ndarray) else features
    positions = np.arange(len(n_frames))
    parts = np.array_split(positions, max(1, len(positions) // chunk))

    def blocks():
        for part in parts:
            block = read(part)
            yield block, frame_mask(n_frames[part], block.shape[2])[:, None, :]

    total, count = np.zeros(()), np.zeros(())   # float64 sums, as the streamed fit always made them
    for block, mask in blocks():
        total = total + (block * mask).sum(axis=(0, 2), dtype=np.float64)
        count = count + mask.sum(axis=(0, 2))
    mean = total / count
    squares = np.zeros(())
    for block, mask in blocks():
        squares = squares + (((block - mean[None, :, None]) ** 2) * mask).sum(axis=(0, 2))
    return {"mean": mean.astype(np.float32), "std": np.sqrt(squares / count).astype(np.float32)}


def normalise(features: np.ndarray, n_frames: np.ndarray, mode: str,
              stats: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Normalise per row: per utterance, with train statistics, not at all, or (``peak``, the report's
    ``librosa.util.normalize``) each row of each clip divided by its largest magnitude; padding stays 0."""
    mask = frame_mask(n_frames, features.shape[2])[:, None, :]
    if mode == "none":
        out = features
    elif mode == "train":
        if stats is None:
            raise ValueError("normalisation 'train' needs the statistics fitted on the training set")
        out = (features - stats["mean"][None, :, None]) / (stats["std"][None, :, None] + 1e-8)
    elif mode == "utterance":
        count = np.maximum(mask.sum(axis=2, keepdims=True), 1)
        mean = (features * mask).sum(axis=2, keepdims=True) / count
        std = np.sqrt((((features - mean) ** 2) * mask).sum(axis=2, keepdims=True) / count)
        out = (features - mean) / (std + 1e-8)
    elif mode == "peak":
        import librosa  # only here: the served networks' other modes need no librosa

        out = librosa.util.normalize(features, norm=np.inf, axis=2)   # zero padding never raises a peak
    else:
        raise ValueError(f"unknown normalisation {mode!r}")
    return (out * mask).astype(np.float32)
