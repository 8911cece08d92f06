"""Section ``features``: MFCC and energy frames, and how training normalises them."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from emoser.core.config import Section


class FeatureParams(Section):
    n_mfcc: int = Field(ge=1, le=128)
    n_fft: int = Field(ge=16)
    hop_length: int = Field(ge=1)
    frames: int = Field(ge=1)
    denoise: bool
    energy: Literal["log", "mean_power"]
    # applied in train: z-score per utterance, with the training set's statistics, none, or (the report's
    # librosa.util.normalize) each row of each clip scaled by its largest magnitude
    normalisation: Literal["utterance", "train", "none", "peak"]
    jobs: int


def check_denoise_once(augment_denoise: bool, features_denoise: bool) -> None:
    """Raise ValueError if both stages would denoise (each recording would be denoised twice)."""
    if augment_denoise and features_denoise:
        raise ValueError("augment.denoise and features.denoise are both true: denoise each recording once "
                         "(augment.denoise) or every clip (features.denoise), not both")
