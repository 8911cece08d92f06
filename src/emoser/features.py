"""Stage 4, features: MFCCs plus a per-frame log-energy row, cut or zero-padded to a fixed
number of frames. Noise reduction here only with ``features.denoise`` (the report's per-clip
order); by default augment has denoised each recording once, before making its copies.

The stage stores features *before* normalisation: normalisation statistics may only come
from the training set, which the split decides later, so they are fitted in ``train`` and
kept with the model. This way a new split never redoes feature extraction.

    python -m emoser.features
"""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from . import paths
from .augment import denoise, load_audio
from .cli import EmoserError, progress_enabled, stage
from .dataset import FeatureSet
from .parallel import compute_backend
from .params import FeatureParams, load_params

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
    rms = librosa.feature.rms(y=signal, frame_length=params.n_fft, hop_length=params.hop_length)
    log_energy = np.log(rms**2 + _TINY)
    return fit_frames(np.vstack([mfcc, log_energy]), params.frames)


def extract_file(path: Path, sample_rate: int, params: FeatureParams) -> tuple[np.ndarray, int]:
    try:
        return extract(load_audio(path, sample_rate), sample_rate, params)
    except EmoserError as exc:
        raise EmoserError(f"{path}: {exc}") from None


def extract_all(wav_files: list[Path], sample_rate: int, params: FeatureParams) -> tuple[np.ndarray, np.ndarray]:
    jobs = Parallel(n_jobs=params.jobs, return_as="generator", batch_size=8)(
        delayed(extract_file)(path, sample_rate, params) for path in wav_files
    )
    results = list(tqdm(jobs, total=len(wav_files), desc="features", disable=not progress_enabled()))
    features = np.stack([f for f, _ in results]).astype(np.float32)
    n_frames = np.array([n for _, n in results], dtype=np.int32)
    return features, n_frames


@stage
def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    clips = pd.read_csv(paths.CLIPS, dtype={"speaker": str})
    files = [(paths.AUGMENTED / "wav" / f"{c}.wav").resolve() for c in clips["clip"]]  # absolute: see parallel
    with compute_backend(params.compute):
        features, n_frames = extract_all(files, params.audio.sample_rate, params.features)
    FeatureSet(clips["clip"].to_numpy(dtype=str), features, n_frames).save(paths.FEATURE_FILE)
    log.info("features %s for %d clips; %.0f%% fill all %d frames", features.shape[1:], len(clips),
             100 * np.mean(n_frames == params.features.frames), params.features.frames)


if __name__ == "__main__":
    main()
