"""The report's four variants, {cnn, cnn_lstm} x {cce, mse}, the settings of the two networks and
of their training.

Names and settings only (no TensorFlow): cross-validation's params, the report and the CLI
check variant names against these without importing the networks (``emoser.networks``).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .config import Section

ARCHS = ("cnn", "cnn_lstm")
LOSSES = ("cce", "mse")
VARIANTS = tuple(f"{arch}-{loss}" for arch in ARCHS for loss in LOSSES)   # e.g. "cnn-cce"


class ModelParams(Section):
    """The model this project ships and sweeps (stages train and evaluate)."""
    arch: Literal["cnn", "cnn_lstm"]
    loss: Literal["cce", "mse"]


class CnnParams(Section):
    filters: tuple[int, ...] = Field(min_length=1)
    kernel: int = Field(ge=1)
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class CnnLstmParams(Section):
    chunks: int = Field(ge=1)
    filters: tuple[int, ...] = Field(min_length=1)
    kernel: int = Field(ge=1)
    lstm_units: int = Field(ge=1)
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class ArchitectureParams(Section):
    cnn: CnnParams
    cnn_lstm: CnnLstmParams


def check_frames_fit_chunks(frames: int, architectures: ArchitectureParams) -> None:
    """The CNN-LSTM cuts the frames into equal chunks: raise ValueError naming both keys if it cannot."""
    chunks = architectures.cnn_lstm.chunks
    if frames % chunks:
        raise ValueError(f"features.frames ({frames}) must be a multiple of architectures.cnn_lstm.chunks ({chunks})")


class TrainParams(Section):
    """Shared by every trained model."""
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    patience: int = Field(ge=0)
    seed: int
