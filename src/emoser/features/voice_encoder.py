"""A pretrained voice encoder's view of a recording, for our model (extractor embeddings).

Resemblyzer's wheel ships a GE2E voice encoder (Wan et al., ICASSP 2018: three LSTM layers of
256 units over 40 mel bands at 16 kHz), trained for speaker verification on LibriSpeech and
VoxCeleb. Nothing is downloaded, and the encoder never heard Emo-DB, so no test recording
shaped its weights. Each recording is prepared as Resemblyzer prepares its input (resampled
to 16 kHz, volume normalised, long silences cut by its voice activity detector), and the last
LSTM layer's outputs are pooled over frames into their mean and standard deviation (statistics
pooling, as x-vectors do): 512 values per recording. The layer is used rather than the
speaker embedding proper, a projection trained to keep only who is speaking.
"""
from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from emoser.audio.io import read, resample
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals

log = logging.getLogger(__name__)
# Below this much voiced audio the detector has failed (a tone, noise): the whole recording is used.
MIN_VOICED_S = 0.25


def load_encoder():
    """Resemblyzer's pretrained encoder, on the CPU (the same numbers on every machine)."""
    with warnings.catch_warnings():
        # webrtcvad imports the deprecated pkg_resources; nothing for users to act on.
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import torch
        from resemblyzer import VoiceEncoder
    torch.set_num_threads(1)     # one thread per worker: the pool parallelises, and sums keep one order
    return VoiceEncoder("cpu", verbose=False)


def prepare(signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """The encoder's input waveform (16 kHz), as Resemblyzer's own ``preprocess_wav`` makes it; a
    silent signal (every sample 0) resampled and left as it is, where Resemblyzer's volume
    normalisation would divide by its zero level (NaN everywhere)."""
    from resemblyzer import preprocess_wav
    from resemblyzer.audio import normalize_volume
    from resemblyzer.hparams import audio_norm_target_dBFS, sampling_rate

    if not np.any(signal):
        return resample(signal, sample_rate, sampling_rate)
    voiced = preprocess_wav(signal, source_sr=sample_rate)
    if len(voiced) >= MIN_VOICED_S * sampling_rate:
        return voiced
    whole = resample(signal, sample_rate, sampling_rate)
    return normalize_volume(whole, audio_norm_target_dBFS, increase_only=True)


def layer_statistics(encoder, wav: np.ndarray) -> np.ndarray:
    """Mean and standard deviation over frames of the encoder's last LSTM layer: (512,) float32."""
    import torch
    from resemblyzer.audio import wav_to_mel_spectrogram

    mel = torch.from_numpy(wav_to_mel_spectrogram(wav))[None]        # (1, frames, 40)
    with torch.no_grad():
        frames = encoder.lstm(mel)[0][0].numpy()                      # (frames, 256)
    return np.concatenate([frames.mean(axis=0), frames.std(axis=0)]).astype(np.float32)


def statistic_names(units: int = 256) -> list[str]:
    return [f"lstm3_{stat}_{i:03d}" for stat in ("mean", "std") for i in range(units)]


def _embed_batch(files: list[Path]) -> np.ndarray:
    encoder = load_encoder()    # one load per batch, not per file
    rows = []
    # One BLAS thread, as in a joblib worker (loky limits them): the mel filterbank's matrix product
    # then sums in one order, so the numbers do not depend on whether the batch ran in a worker.
    with threadpool_limits(1):
        for path in files:
            signal, rate = read(path)
            if not len(signal):
                raise EmoserError(f"{path}: no audio samples")
            rows.append(layer_statistics(encoder, prepare(signal, rate)))
    return np.stack(rows)


def extract(files: list[Path], utterances: list[str], jobs: int = -1, batch: int = 32) -> Functionals:
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]
    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(_embed_batch)(part) for part in batches)
    values = list(tqdm(results, total=len(batches), desc="voice encoder", disable=None))
    return Functionals(np.asarray(utterances), np.asarray(statistic_names()), np.concatenate(values))

