"""New recordings, for prediction: the formats every model reads, resampling, windows.

One loader for every model (``emoser predict``, the served MLflow model): wav, flac, ogg, mp3 and
aiff at any sample rate and channel count, through libsndfile; other audio formats are refused
by name, so a folder that holds them reports them rather than skipping them.
"""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from .errors import EmoserError

READABLE = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")     # libsndfile reads these
UNSUPPORTED = (".m4a", ".mp4", ".aac", ".wma", ".opus", ".webm")  # listed in folders, refused by name


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


def read_recording(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 at the file's own rate, for every model: one clear error per kind of bad file."""
    if path.suffix.lower() not in READABLE:
        raise EmoserError(f"{path}: unsupported format {path.suffix or '(no suffix)'!r}; "
                          f"readable: {', '.join(READABLE)} (convert it, e.g. with ffmpeg)")
    return decode(path, str(path))


def decode(source: Path | bytes, name: str) -> tuple[np.ndarray, int]:
    """A file, or a file's bytes (as sent to the served model), as mono float32 at its own rate."""
    import soundfile as sf

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
