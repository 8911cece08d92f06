"""The report's two architectures, and the saved bundle (network + normaliser + facts).

Both networks take features as (features, frames) and end in a softmax over the emotions,
so the loss (categorical cross-entropy or mean squared error on one-hot targets) is the
only other thing a variant changes.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import cli  # noqa: F401  (quiets TensorFlow before it is imported)
from .corpus import EMOTIONS
from .normalisation import normalise
from .files import atomic_path
from .params import ArchitectureParams, CnnLstmParams, CnnParams

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

LOSS_FUNCTIONS = {"cce": "categorical_crossentropy", "mse": "mean_squared_error"}


def build_cnn(n_features: int, n_frames: int, n_classes: int, p: CnnParams) -> keras.Model:
    inputs = keras.Input((n_features, n_frames), name="features")
    x = layers.Reshape((n_features, n_frames, 1))(inputs)
    for filters in p.filters:
        x = layers.Conv2D(filters, p.kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2, padding="same")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(p.dense, activation="relu")(x)
    x = layers.Dropout(p.dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="cnn")


def build_cnn_lstm(n_features: int, n_frames: int, n_classes: int, p: CnnLstmParams) -> keras.Model:
    """A CNN applied to each chunk of consecutive frames, then an LSTM over the chunks (time)."""
    if n_frames % p.chunks:
        raise ValueError(f"{n_frames} frames do not split into {p.chunks} equal chunks")
    inputs = keras.Input((n_features, n_frames), name="features")
    x = layers.Permute((2, 1))(inputs)                                  # (frames, features)
    x = layers.Reshape((p.chunks, n_frames // p.chunks, n_features, 1))(x)  # (chunks, frames/chunk, features, 1)
    for filters in p.filters:
        x = layers.TimeDistributed(layers.Conv2D(filters, p.kernel, padding="same", activation="relu"))(x)
        x = layers.TimeDistributed(layers.MaxPooling2D(2, padding="same"))(x)
    x = layers.TimeDistributed(layers.Flatten())(x)
    x = layers.LSTM(p.lstm_units)(x)
    x = layers.Dense(p.dense, activation="relu")(x)
    x = layers.Dropout(p.dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion")(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")


def build_model(arch: str, loss: str, n_features: int, n_frames: int, architectures: ArchitectureParams,
                learning_rate: float, n_classes: int = len(EMOTIONS)) -> keras.Model:
    builders = {"cnn": (build_cnn, architectures.cnn), "cnn_lstm": (build_cnn_lstm, architectures.cnn_lstm)}
    if arch not in builders:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(builders)}")
    if loss not in LOSS_FUNCTIONS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSS_FUNCTIONS)}")
    build, arch_params = builders[arch]
    model = build(n_features, n_frames, n_classes, arch_params)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=LOSS_FUNCTIONS[loss],
                  metrics=["accuracy"])
    return model


@dataclass
class Bundle:
    """A trained model as saved on disk: the network, its normaliser and what it expects."""

    network: keras.Model
    normalisation: str
    stats: dict[str, np.ndarray] | None
    facts: dict  # arch, loss, emotions, sample rate, feature params, protocol

    MODEL_FILE = "model.keras"
    STATS_FILE = "normaliser.npz"
    FACTS_FILE = "model.json"

    def predict_proba(self, features: np.ndarray, n_frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        x = normalise(features, n_frames, self.normalisation, self.stats)
        batches = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)  # see train.batches
        return self.network.predict(batches, verbose=0)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / self.MODEL_FILE) as tmp:
            keras_tmp = tmp.with_suffix(".keras")  # Keras insists on the extension
            self.network.save(keras_tmp)
            keras_tmp.replace(tmp)
        with atomic_path(folder / self.STATS_FILE) as tmp, open(tmp, "wb") as f:
            np.savez(f, **(self.stats or {}))
        with atomic_path(folder / self.FACTS_FILE) as tmp:
            tmp.write_text(json.dumps({"normalisation": self.normalisation, **self.facts}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> "Bundle":
        facts = json.loads((folder / cls.FACTS_FILE).read_text())
        with np.load(folder / cls.STATS_FILE) as data:
            stats = {k: data[k] for k in data.files} or None
        network = keras.models.load_model(folder / cls.MODEL_FILE)
        return cls(network, facts.pop("normalisation"), stats, facts)
