"""New recordings, for prediction: the audio files named or in folders, and windows over long ones.

A folder's files in an unsupported audio format are listed too, so that they are reported (by
``emoser.audio.io.read_recording``) rather than skipped.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emoser.audio.io import READABLE, UNSUPPORTED
from emoser.core.errors import EmoserError


def audio_files(inputs: list[str]) -> list[Path]:
    """The files named, and in folders every file whose suffix is audio (also unsupported audio,
    so that it is reported rather than skipped)."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in READABLE + UNSUPPORTED)
            if not found:
                raise EmoserError(f"{item}: no audio files in this folder ({', '.join(READABLE)})")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise EmoserError(f"{item}: no such file or folder")
    return files


def windows(signal: np.ndarray, length: int, minimum: int) -> list[np.ndarray]:
    """Half-overlapping windows of ``length`` samples covering the signal; at least ``minimum`` long."""
    if len(signal) < minimum:
        signal = np.pad(signal, (0, minimum - len(signal)))
    if len(signal) <= length:
        return [signal]
    starts = list(range(0, len(signal) - length + 1, length // 2))
    if starts[-1] + length < len(signal):
        starts.append(len(signal) - length)
    return [signal[s:s + length] for s in starts]


def sounding(parts: list[np.ndarray]) -> list[np.ndarray]:
    """The windows that hold any sound: a window whose samples are all equal (digital silence, a DC
    offset) carries no emotion and is left out of the average; all of them when none sounds."""
    kept = [part for part in parts if np.ptp(part) > 0]
    return kept or parts


def without_constant_ends(signal: np.ndarray) -> np.ndarray:
    """The signal without the runs of equal samples at its start and end (digital silence, a DC
    level: padding that holds no sound), but for one sample of each; a signal that is all one value
    is returned as it is."""
    changes = np.flatnonzero(np.diff(signal, axis=0).reshape(len(signal) - 1, -1).any(axis=1)) \
        if len(signal) > 1 else np.array([], dtype=int)
    if len(changes) == 0:
        return signal
    return signal[changes[0]:changes[-1] + 2]
