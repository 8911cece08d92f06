"""Augmentation: per utterance, the original plus pitch-shifted and time-stretched copies (stage augment).

Each utterance's random amounts come from its own generator, seeded by ``augment.seed``
and the utterance's name, so the output does not depend on worker count or order.
"""
from __future__ import annotations

import logging
import zlib
from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.io import wavfile
from tqdm import tqdm

from emoser.audio.io import denoise, load_audio
from emoser.params.augment import AugmentParams

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Copy:
    clip: str        # clip id, also the file stem
    kind: str        # original | pitch | stretch
    amount: float    # semitones for pitch, rate for stretch, 0 for the original


def plan_copies(utterance: str, params: AugmentParams) -> list[Copy]:
    """The clips made from one utterance; the same for the same seed and utterance, anywhere."""
    rng = np.random.default_rng([params.seed, zlib.crc32(utterance.encode())])
    semitones = rng.uniform(-params.pitch_semitones, params.pitch_semitones, params.pitch_copies)
    rates = rng.uniform(*params.stretch_rates, params.stretch_copies)
    copies = [Copy(utterance, "original", 0.0)]
    copies += [Copy(f"{utterance}_pitch{i + 1}", "pitch", round(float(s), 6)) for i, s in enumerate(semitones)]
    copies += [Copy(f"{utterance}_stretch{i + 1}", "stretch", round(float(r), 6)) for i, r in enumerate(rates)]
    return copies


def apply_copy(signal: np.ndarray, sample_rate: int, copy: Copy) -> np.ndarray:
    if copy.kind == "original":
        return signal
    if copy.kind == "pitch":
        return librosa.effects.pitch_shift(signal, sr=sample_rate, n_steps=copy.amount)
    if copy.kind == "stretch":
        return librosa.effects.time_stretch(signal, rate=copy.amount)
    raise ValueError(f"unknown copy kind {copy.kind!r}")


def augment_utterance(source: Path, utterance: str, out_wav: Path, sample_rate: int,
                      params: AugmentParams) -> list[dict]:
    signal = load_audio(source, sample_rate)
    if params.denoise:   # once per recording instead of once per clip in features: 7x fewer calls
        signal = denoise(signal, sample_rate)
    rows = []
    for copy in plan_copies(utterance, params):
        clip = apply_copy(signal, sample_rate, copy).astype(np.float32)
        # scipy writes plain float32 WAV; libsndfile adds a PEAK chunk with a timestamp, so the
        # same audio would hash differently on every run and defeat DVC's cache.
        wavfile.write(out_wav / f"{copy.clip}.wav", sample_rate, clip)
        rows.append({"clip": copy.clip, "utterance": utterance, "kind": copy.kind, "amount": copy.amount,
                     "samples": len(clip)})
    return rows


def augment_corpus(manifest: pd.DataFrame, raw_wav: Path, out_dir: Path, sample_rate: int,
                   params: AugmentParams) -> pd.DataFrame:
    """Augment every utterance of ``manifest`` in parallel; returns the clip table."""
    # Absolute paths: a Dask worker's working directory is not the repository
    raw_wav, out_wav = raw_wav.resolve(), (out_dir / "wav").resolve()
    out_wav.mkdir(parents=True, exist_ok=True)
    jobs = Parallel(n_jobs=params.jobs, return_as="generator")(
        delayed(augment_utterance)(raw_wav / row.file, row.utterance, out_wav, sample_rate, params)
        for row in manifest.itertuples()
    )
    rows = [r for batch in tqdm(jobs, total=len(manifest), desc="augment", disable=None)
            for r in batch]
    clips = pd.DataFrame(rows)
    # sex, text, content: optional manifest columns (a corpus may lack them; content: the same audio's key)
    keep = [c for c in ("utterance", "speaker", "sex", "text", "emotion", "label", "content") if c in manifest]
    clips = clips.merge(manifest[keep], on="utterance", how="left", validate="many_to_one")
    return clips[["clip", *keep, "kind", "amount", "samples"]]

