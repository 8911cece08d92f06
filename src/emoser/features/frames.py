"""The networks' features: MFCCs plus an energy row, cut or zero-padded to a fixed number of frames
(stage features). The energy row is per-frame log energy (``features.energy: log``, the default) or,
as in the student report, the clip's mean power repeated over its frames (``mean_power``). Noise
reduction here only with ``features.denoise`` (the report's per-clip order); by default augment has
denoised each recording once, before making its copies.

The stage stores features *before* normalisation: normalisation statistics may only come
from the training set, which the split decides later, so they are fitted in ``train`` and
kept with the model. This way a new split never redoes feature extraction.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import librosa
import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from emoser.audio.io import denoise, load_audio
from emoser.core.errors import EmoserError
from emoser.params.features import FeatureParams

log = logging.getLogger(__name__)
_TINY = 1e-10


def fit_frames(frames: np.ndarray, length: int) -> tuple[np.ndarray, int]:
    """Cut or zero-pad a (features, time) matrix to ``length`` frames; also return the real length."""
    valid = min(frames.shape[1], length)
    out = np.zeros((frames.shape[0], length), dtype=np.float32)
    out[:, :valid] = frames[:, :valid]
    return out, valid


def extract(signal: np.ndarray, sample_rate: int, params: FeatureParams) -> tuple[np.ndarray, int]:
    """Features of one clip: (n_mfcc + 1, frames) float32, and how many frames are real."""
    if len(signal) < params.n_fft:
        raise EmoserError(
            f"clip of {len(signal)} samples is shorter than one FFT frame (features.n_fft={params.n_fft})"
        )
    if params.denoise:
        signal = denoise(signal, sample_rate)
    mfcc = librosa.feature.mfcc(y=signal, sr=sample_rate, n_mfcc=params.n_mfcc, n_fft=params.n_fft,
                                hop_length=params.hop_length)
    if params.energy == "mean_power":     # the report: one number per clip, repeated over its frames
        energy = np.full((1, mfcc.shape[1]), np.mean(signal.astype(np.float64) ** 2), dtype=np.float32)
    else:
        rms = librosa.feature.rms(y=signal, frame_length=params.n_fft, hop_length=params.hop_length)
        energy = np.log(rms**2 + _TINY)
    return fit_frames(np.vstack([mfcc, energy]), params.frames)


def extract_file(path: Path, sample_rate: int, params: FeatureParams) -> tuple[np.ndarray, int]:
    try:
        return extract(load_audio(path, sample_rate), sample_rate, params)
    except EmoserError as exc:
        raise EmoserError(f"{path}: {exc}") from None


def extract_each(wav_files: list[Path], sample_rate: int, params: FeatureParams) -> Iterator[tuple[np.ndarray, int]]:
    """Each file's (features, n_frames), in order, as the workers finish them (a few in memory at a time)."""
    jobs = Parallel(n_jobs=params.jobs, return_as="generator", batch_size=8)(
        delayed(extract_file)(path, sample_rate, params) for path in wav_files
    )
    for features, n in tqdm(jobs, total=len(wav_files), desc="features", disable=None):
        yield features.astype(np.float32), n


def extract_all(wav_files: list[Path], sample_rate: int, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    """Every file's features as one array (small corpora; stage features streams ``extract_each`` to disk)."""
    results = list(extract_each(wav_files, sample_rate, params))
    features = np.stack([f for f, _ in results]).astype(np.float32)
    n_frames = np.array([n for _, n in results], dtype=np.int32)
    return features, n_frames

