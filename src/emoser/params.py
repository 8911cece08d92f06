"""The schema of params.yaml: every stage reads its section through this one model.

A typo in a key or a value out of range is an error naming the key, never a silent
default.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .cli import EmoserError
from .corpus import SPEAKERS

DEFAULT_PARAMS = Path("params.yaml")
ARCHS = ("cnn", "cnn_lstm")
LOSSES = ("cce", "mse")
PROTOCOLS = ("utterance", "speaker", "leaky")
CV_PROTOCOLS = ("loso", "kfold", "leaky")
VARIANTS = tuple(f"{arch}-{loss}" for arch in ARCHS for loss in LOSSES)   # e.g. "cnn-cce"
OPENSMILE_SETS = ("eGeMAPSv02", "ComParE_2016")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FetchParams(_Section):
    source: str = Field(min_length=1)
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    timeout_s: float = Field(gt=0)
    max_archive_mb: int = Field(gt=0)


class AudioParams(_Section):
    sample_rate: int = Field(ge=4000, le=96000)


class AugmentParams(_Section):
    seed: int
    pitch_copies: int = Field(ge=0)
    pitch_semitones: float = Field(ge=0, le=12)
    stretch_copies: int = Field(ge=0)
    stretch_rates: tuple[float, float]
    denoise: bool
    jobs: int

    @field_validator("stretch_rates")
    @classmethod
    def _rates_ordered(cls, rates):
        low, high = rates
        if not 0 < low <= high:
            raise ValueError(f"need 0 < low <= high, got {list(rates)}")
        return rates


class FeatureParams(_Section):
    n_mfcc: int = Field(ge=1, le=128)
    n_fft: int = Field(ge=16)
    hop_length: int = Field(ge=1)
    frames: int = Field(ge=1)
    denoise: bool
    normalisation: Literal["utterance", "train", "none"]
    jobs: int


def _speaker_id(value) -> str:
    speaker = f"{value:02d}" if isinstance(value, int) else str(value)
    if speaker not in SPEAKERS:
        raise ValueError(f"unknown speaker {value!r} (Emo-DB has {', '.join(SPEAKERS)})")
    return speaker


class SplitParams(_Section):
    protocol: Literal["utterance", "speaker", "leaky"]
    train: float = Field(gt=0, lt=1)
    val: float = Field(gt=0, lt=1)
    test: float = Field(gt=0, lt=1)
    val_speakers: tuple[str, ...]
    test_speakers: tuple[str, ...]
    seed: int

    @field_validator("val_speakers", "test_speakers", mode="before")
    @classmethod
    def _speakers(cls, value):
        return tuple(_speaker_id(v) for v in value)

    @model_validator(mode="after")
    def _consistent(self):
        total = self.train + self.val + self.test
        if abs(total - 1) > 1e-6:
            raise ValueError(f"train + val + test must be 1, got {total:g}")
        both = sorted(set(self.val_speakers) & set(self.test_speakers))
        if both:
            raise ValueError(f"speakers {both} are listed for both val and test")
        if not self.val_speakers or not self.test_speakers:
            raise ValueError("val_speakers and test_speakers must each name at least one speaker")
        return self


class ModelParams(_Section):
    arch: Literal["cnn", "cnn_lstm"]
    loss: Literal["cce", "mse"]


class TrainParams(_Section):
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    patience: int = Field(ge=0)
    seed: int


class CnnParams(_Section):
    filters: tuple[int, ...] = Field(min_length=1)
    kernel: int = Field(ge=1)
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class CnnLstmParams(_Section):
    chunks: int = Field(ge=1)
    filters: tuple[int, ...] = Field(min_length=1)
    kernel: int = Field(ge=1)
    lstm_units: int = Field(ge=1)
    dense: int = Field(ge=1)
    dropout: float = Field(ge=0, lt=1)


class ArchitectureParams(_Section):
    cnn: CnnParams
    cnn_lstm: CnnLstmParams


class EvaluateParams(_Section):
    bootstrap_resamples: int = Field(ge=100)
    ci_level: float = Field(gt=0, lt=1)
    seed: int


class CvParams(_Section):
    """Cross-validation: which protocols, and which trained variants run under them."""
    protocols: tuple[Literal[CV_PROTOCOLS], ...] = Field(min_length=1)
    k: int = Field(ge=2, le=20)
    val_fraction: float = Field(gt=0, lt=0.5)
    seed: int
    variants: tuple[str, ...]

    @field_validator("variants")
    @classmethod
    def _known_variants(cls, variants):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise ValueError(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
        if len(set(variants)) != len(variants):
            raise ValueError(f"variants listed twice: {list(variants)}")
        return variants


class BaselineParams(_Section):
    """An SVM on openSMILE functionals."""
    feature_set: Literal[OPENSMILE_SETS]
    kernel: Literal["linear", "rbf"]
    C: float = Field(gt=0)


class BaselinesParams(_Section):
    models: dict[str, BaselineParams] = Field(min_length=1)
    speaker_standardisation: tuple[bool, ...] = Field(min_length=1)
    jobs: int

    @field_validator("models")
    @classmethod
    def _names(cls, models):
        bad = [name for name in models if not name.replace("_", "").isalnum()]
        if bad:
            raise ValueError(f"model names must be letters, digits and _: {bad}")
        return models


class OursParams(_Section):
    """This project's own model (emoser.ours): an ensemble over counts of selected openSMILE features,
    fused with a model of the voice encoder's embeddings."""
    feature_set: Literal[OPENSMILE_SETS]
    feature_counts: tuple[Literal["all"] | int, ...] = Field(min_length=1)
    C: float = Field(gt=0)
    embedding_weight: float = Field(ge=0, le=1)
    speaker_standardisation: tuple[bool, ...] = Field(min_length=1)
    ablation: bool
    jobs: int

    @field_validator("feature_counts")
    @classmethod
    def _counts(cls, counts):
        bad = [n for n in counts if n != "all" and n < 1]
        if bad:
            raise ValueError(f"feature counts must be positive or 'all', got {bad}")
        if len(set(counts)) != len(counts):
            raise ValueError(f"feature counts listed twice: {list(counts)}")
        return counts


class MlflowParams(_Section):
    tracking_uri: str
    experiment: str = Field(min_length=1)


class ComputeParams(_Section):
    scheduler: str | None
    connect_timeout_s: float = Field(gt=0)

    @field_validator("scheduler")
    @classmethod
    def _dask_address(cls, address):
        if address is not None and not re.fullmatch(r"(tcp|tls|ucx|inproc)://\S+", address):
            raise ValueError(f"{address!r} is not a Dask scheduler address such as tcp://10.0.0.5:8786 (or null)")
        return address


class Params(_Section):
    fetch: FetchParams
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    architectures: ArchitectureParams
    evaluate: EvaluateParams
    cv: CvParams
    baselines: BaselinesParams
    ours: OursParams
    mlflow: MlflowParams
    compute: ComputeParams

    @model_validator(mode="after")
    def _denoise_once(self):
        if self.augment.denoise and self.features.denoise:
            raise ValueError("augment.denoise and features.denoise are both true: denoise each recording once "
                             "(augment.denoise) or every clip (features.denoise), not both")
        return self

    @model_validator(mode="after")
    def _frames_fit_chunks(self):
        chunks = self.architectures.cnn_lstm.chunks
        if self.features.frames % chunks:
            raise ValueError(
                f"features.frames ({self.features.frames}) must be a multiple of "
                f"architectures.cnn_lstm.chunks ({chunks})"
            )
        return self


class ParamsError(EmoserError):
    """params.yaml is missing, unreadable or invalid; the message names the keys."""


def load_params(path: Path | str = DEFAULT_PARAMS) -> Params:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file") from None
    except yaml.YAMLError as exc:
        raise ParamsError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Params.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ParamsError(f"{path}: {problems}") from None


def flatten(params: BaseModel, prefix: str = "") -> dict[str, object]:
    """Flatten nested params to dotted keys with plain values, as MLflow and DVC show them."""
    flat: dict[str, object] = {}

    def add(name: str, value) -> None:
        if isinstance(value, BaseModel):
            flat.update(flatten(value, f"{name}."))
        elif isinstance(value, dict):
            for key, item in value.items():
                add(f"{name}.{key}", item)
        else:
            flat[name] = list(value) if isinstance(value, tuple) else value

    for key, value in params:
        add(f"{prefix}{key}", value)
    return flat
