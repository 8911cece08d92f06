"""Per-speaker standardisation: each speaker's features z-scored over that speaker's own recordings.

For a test speaker that uses their unlabelled audio (never labels), so results with it are a
separate, transductive setting, named with the ``+spkstd`` suffix everywhere.
"""
from __future__ import annotations

import numpy as np

SPEAKER_STANDARDISED = "+spkstd"


def speaker_standardise(values: np.ndarray, speakers) -> np.ndarray:
    """Z-score the rows of each speaker over that speaker's rows; constant columns become 0."""
    values = np.asarray(values, dtype=np.float64)
    speakers = np.asarray(speakers)
    out = np.empty_like(values)
    for speaker in np.unique(speakers):
        rows = speakers == speaker
        mean, std = values[rows].mean(axis=0), values[rows].std(axis=0)
        out[rows] = (values[rows] - mean) / np.where(std > 0, std, 1.0)
    return out
