"""Stage 4, features: noise reduction, MFCCs plus a per-frame log-energy row, cut or
zero-padded to a fixed number of frames.

The stage stores features *before* normalisation: normalisation statistics may only come
from the training set, which the split decides later, so they are fitted in ``train`` and
kept with the model. This way a new split never redoes feature extraction.

    python -m emoser.features
"""
from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import librosa
import noisereduce
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from . import paths
from .augment import load_audio
from .cli import EmoserError, progress_enabled, stage
from .files import atomic_path
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
        signal = noisereduce.reduce_noise(y=signal, sr=sample_rate).astype(np.float32)
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


@dataclass(frozen=True)
class FeatureSet:
    clips: np.ndarray      # (N,) clip ids
    features: np.ndarray   # (N, n_mfcc + 1, frames) float32, zero after n_frames
    n_frames: np.ndarray   # (N,) real frames per clip

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, clips=self.clips, features=self.features, n_frames=self.n_frames)

    @classmethod
    def load(cls, path: Path) -> "FeatureSet":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["clips"], data["features"], data["n_frames"])

    def select(self, clips) -> "FeatureSet":
        index = pd.Index(self.clips).get_indexer(list(clips))
        if (index < 0).any():
            raise EmoserError(f"{int((index < 0).sum())} clips have no features; rerun the features stage")
        return FeatureSet(self.clips[index], self.features[index], self.n_frames[index])


# --- normalisation: fitted on train in the train stage, stored with the model -------------

def frame_mask(n_frames: np.ndarray, length: int) -> np.ndarray:
    return np.arange(length)[None, :] < np.asarray(n_frames)[:, None]


def fit_normaliser(features: np.ndarray, n_frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row mean and std over the real (unpadded) frames of a training set."""
    mask = frame_mask(n_frames, features.shape[2])[:, None, :]
    count = mask.sum(axis=(0, 2))
    mean = (features * mask).sum(axis=(0, 2)) / count
    var = (((features - mean[None, :, None]) ** 2) * mask).sum(axis=(0, 2)) / count
    return {"mean": mean.astype(np.float32), "std": np.sqrt(var).astype(np.float32)}


def normalise(features: np.ndarray, n_frames: np.ndarray, mode: str,
              stats: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Normalise per row: per utterance, with train statistics, or not at all; padding stays 0."""
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
    else:
        raise ValueError(f"unknown normalisation {mode!r}")
    return (out * mask).astype(np.float32)


@stage
def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    clips = pd.read_csv(paths.CLIPS, dtype={"speaker": str})
    files = [paths.AUGMENTED / "wav" / f"{c}.wav" for c in clips["clip"]]
    features, n_frames = extract_all(files, params.audio.sample_rate, params.features)
    FeatureSet(clips["clip"].to_numpy(dtype=str), features, n_frames).save(paths.FEATURE_FILE)
    log.info("features %s for %d clips; %.0f%% fill all %d frames", features.shape[1:], len(clips),
             100 * np.mean(n_frames == params.features.frames), params.features.frames)


if __name__ == "__main__":
    main()
