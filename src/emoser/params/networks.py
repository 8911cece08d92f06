"""The report's four variants, {cnn, cnn_lstm} x {cce, mse}, the settings of the two networks and
of their training.

Names and settings only (no TensorFlow): cross-validation's params, the report and the CLI
check variant names against these without importing the networks (``emoser.models.networks.architectures``).
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from emoser.core.config import Section

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
    padding: Literal["same", "valid"]   # of every convolution and pooling (the report: valid)
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class CnnLstmParams(Section):
    chunks: int = Field(ge=1)
    filters: tuple[int, ...] = Field(min_length=1)
    kernel: int = Field(ge=1)
    lstm_units: int | tuple[int, ...]   # one LSTM, or a stack of them (the report: [128, 128])
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


    @field_validator("lstm_units")
    @classmethod
    def _positive(cls, units):
        if any(u < 1 for u in ((units,) if isinstance(units, int) else units)) or units == ():
            raise ValueError("lstm_units: a positive number of units, or a list of them (stacked LSTMs)")
        return units


class ArchitectureParams(Section):
    cnn: CnnParams
    cnn_lstm: CnnLstmParams


def check_frames_fit_chunks(frames: int, architectures: ArchitectureParams) -> None:
    """The CNN-LSTM cuts the frames into equal chunks: raise ValueError naming both keys if it cannot."""
    chunks = architectures.cnn_lstm.chunks
    if frames % chunks:
        raise ValueError(f"features.frames ({frames}) must be a multiple of architectures.cnn_lstm.chunks ({chunks})")


def check_networks_fit(rows: int, frames: int, architectures: ArchitectureParams) -> None:
    """Both networks can take ``rows`` feature rows x ``frames`` frames: the CNN-LSTM's chunks divide
    the frames, and the CNN's `valid` blocks (each a k x k convolution, then 2 x 2 pooling) leave at
    least one row and one frame. Raise ValueError naming the keys, before any data is read."""
    check_frames_fit_chunks(frames, architectures)
    cnn = architectures.cnn
    if cnn.padding != "valid":
        return
    left_rows, left_frames = rows, frames
    for _ in cnn.filters:
        left_rows, left_frames = (left_rows - cnn.kernel + 1) // 2, (left_frames - cnn.kernel + 1) // 2
    if min(left_rows, left_frames) < 1:
        raise ValueError(f"architectures.cnn: {len(cnn.filters)} `valid` blocks ({cnn.kernel}x{cnn.kernel} "
                         f"convolution, 2x2 pooling) leave nothing of {rows} feature rows x {frames} frames "
                         "(features.n_mfcc + 1, features.frames): use padding: same, fewer filters or more frames")


class TrainParams(Section):
    """Shared by every trained model."""
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    patience: int = Field(ge=0)
    seed: int
    replicates: int = Field(ge=1, le=100)
    precision: Literal["auto", "float32", "bfloat16"] = "auto"   # auto: models.networks.precision

    @property
    def seeds(self) -> tuple[int, ...]:
        """The hold-out networks' training seeds: ``seed`` (the named one, shipped) and the next
        ``replicates - 1``. A reseed (``-S train.seed=...``) gives another set of replicates."""
        return tuple(self.seed + i for i in range(self.replicates))


# train's keys that change what one training run does: cv trains one run per fold, so not ``replicates``
TRAINING_KEYS = ("epochs", "batch_size", "learning_rate", "patience", "seed")
