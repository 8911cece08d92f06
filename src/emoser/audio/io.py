"""Reading audio: the one reader every stage, model and the served model share.

``read`` decodes a file (or a file's bytes, as sent to the served model) with libsndfile into mono
float32 at the file's own rate; ``resample`` is ``librosa.resample``'s default (soxr_hq) without
importing librosa (~3 s); ``load_audio`` is the two together, as ``librosa.load(path, sr=...)``
gives it (the same samples: tests/test_augment.py compares them). wav, flac, ogg, mp3 and aiff
at any rate and channel count; other audio formats are refused by name (``read_recording``).
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from emoser.core.errors import EmoserError

READABLE = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")     # libsndfile reads these
UNSUPPORTED = (".m4a", ".mp4", ".aac", ".wma", ".opus", ".webm")  # listed in folders, refused by name


def read(source: Path | str | bytes, name: str | None = None) -> tuple[np.ndarray, int]:
    """A file, or a file's bytes, as mono float32 (the channels' mean) at its own rate; unreadable,
    empty or non-finite audio is one error naming ``name`` (default: the path)."""
    import soundfile as sf

    name = name or str(source)
    try:
        signal, rate = sf.read(io.BytesIO(source) if isinstance(source, bytes) else source,
                               dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for unreadable audio
        raise EmoserError(f"{name}: cannot read audio ({exc})") from None
    if not len(signal):
        raise EmoserError(f"{name}: holds no audio samples")
    if not np.isfinite(signal).all():
        raise EmoserError(f"{name}: holds NaN or infinite samples")
    return signal.mean(axis=1), int(rate)


def read_recording(path: Path) -> tuple[np.ndarray, int]:
    """``read`` of a new recording (emoser predict): a format libsndfile cannot read is refused by name."""
    if path.suffix.lower() not in READABLE:
        raise EmoserError(f"{path}: unsupported format {path.suffix or '(no suffix)'!r}; "
                          f"readable: {', '.join(READABLE)} (convert it, e.g. with ffmpeg)")
    return read(path)


def resample(signal: np.ndarray, rate: int, target: int) -> np.ndarray:
    """As ``librosa.resample(signal, orig_sr=rate, target_sr=target)`` with its default ``soxr_hq``
    (the same library call and length fix), without importing librosa (~3 s)."""
    if rate == target:
        return signal
    import soxr

    out = soxr.resample(signal, rate, target, quality="soxr_hq")
    size = int(np.ceil(len(signal) * (float(target) / rate)))   # librosa's n_samples
    out = np.pad(out, (0, size - len(out))) if len(out) < size else out[:size]
    return np.asarray(out, dtype=signal.dtype)


def load_audio(path: Path | str, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``sample_rate``: ``read`` then ``resample``."""
    signal, rate = read(path)
    return resample(signal, rate, sample_rate)


def denoise(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """Spectral-gating noise reduction (noisereduce), as the report applied it."""
    import noisereduce  # here, not at the top: it imports torch when torch is installed (~2 s)

    return noisereduce.reduce_noise(y=signal, sr=sample_rate).astype(np.float32)
