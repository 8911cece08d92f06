"""Section ``whisper``: Whisper base's encoder statistics per recording (stage extract, extractor whisper)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from emoser.core.config import Section

ENCODER_LAYERS = 6          # Whisper base


def check_layers(layers: tuple[int, ...]) -> tuple[int, ...]:
    """Layer numbers of Whisper base's encoder, each once."""
    bad = [i for i in layers if not 0 <= i < ENCODER_LAYERS]
    if bad:
        raise ValueError(f"Whisper base has layers 0-{ENCODER_LAYERS - 1}, got {bad}")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers listed twice: {list(layers)}")
    return layers


class WhisperParams(Section):
    """How each recording meets the encoder: padded to ``window_s`` seconds (None: as it is), the
    statistics pooled over the window's frames or the recording's only, of these layers (0-based)."""
    window_s: float | None = Field(gt=0, le=30)
    pooling: Literal["window", "recording"]
    layers: tuple[int, ...] = Field(min_length=1)
    jobs: int

    @field_validator("layers")
    @classmethod
    def _layers(cls, layers):
        return check_layers(layers)
