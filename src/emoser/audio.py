"""Loading audio for the networks and denoising it: the one loader augment, features and predict share."""
from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
from pydantic import Field

from .config import Section
from .errors import EmoserError


class AudioParams(Section):
    sample_rate: int = Field(ge=4000, le=96000)


def load_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``sample_rate``; unreadable audio names the file."""
    try:
        signal, _ = librosa.load(path, sr=sample_rate, mono=True, res_type="soxr_hq", dtype=np.float32)
    except Exception as exc:  # librosa raises several types for unreadable audio
        raise EmoserError(f"{path}: cannot read audio ({exc})") from None
    return signal


def denoise(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """Spectral-gating noise reduction (noisereduce), as the report applied it."""
    import noisereduce  # here, not at the top: it imports torch when torch is installed (~2 s)

    return noisereduce.reduce_noise(y=signal, sr=sample_rate).astype(np.float32)
