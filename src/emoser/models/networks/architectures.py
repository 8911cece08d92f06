"""The report's two networks (Keras), and the saved bundle (network + normaliser + facts).

Both networks take features as (features, frames) and end in a softmax over the emotions,
so the loss (categorical cross-entropy or mean squared error on one-hot targets) is the
only other thing a variant changes.
"""
from __future__ import annotations

import contextlib
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emoser.core.files import atomic_path
from emoser.core.runtime import native_stderr_silenced
from emoser.features.normalisation import normalise
from emoser.models.networks import saved as model_files
from emoser.params.networks import ArchitectureParams, CnnLstmParams, CnnParams

with native_stderr_silenced():      # TensorFlow's start-up notices; see emoser.core.runtime
    import keras
    import tensorflow as tf
from keras import layers  # noqa: E402

LOSS_FUNCTIONS = {"cce": "categorical_crossentropy", "mse": "mean_squared_error"}
# Batches per call into the compiled training step: fewer Python round trips per epoch, and the
# trained weights are bit-identical to one batch per call (the same ops in the same order).
STEPS_PER_EXECUTION = 16


PRECISION_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16"}   # train.precision -> Keras dtype policy


@contextlib.contextmanager
def precision_policy(precision: str) -> Iterator[None]:
    """Keras' dtype policy for the networks built inside (``train.precision``), the previous one
    restored after: ``bfloat16`` computes in bfloat16 and keeps float32 weights (Keras'
    ``mixed_bfloat16``), its output layer float32 (``_output_dtype``). A layer keeps the policy it was
    built with (also when saved and loaded). Part of a training's result, like the thread count."""
    if precision not in PRECISION_POLICY:   # 'auto' is the stage's to resolve (networks.precision.training_precision)
        raise ValueError(f"train.precision {precision!r}: a network is built in one of {sorted(PRECISION_POLICY)}")
    before = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(PRECISION_POLICY[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)


def _output_dtype() -> dict:
    """The softmax in float32 under a mixed policy (Keras' advice: a stable loss); nothing under
    float32, so a float32 network's saved config is what it was before precision was a param."""
    return {} if keras.mixed_precision.global_policy().name == "float32" else {"dtype": "float32"}


def build_cnn(n_features: int, n_frames: int, n_classes: int, p: CnnParams) -> keras.Model:
    inputs = keras.Input((n_features, n_frames), name="features")
    x = layers.Reshape((n_features, n_frames, 1))(inputs)
    for filters in p.filters:
        x = layers.Conv2D(filters, p.kernel, padding=p.padding, activation="relu")(x)
        x = layers.MaxPooling2D(2, padding=p.padding)(x)
    x = layers.Flatten()(x)
    x = layers.Dense(p.dense, activation="relu")(x)
    x = layers.Dropout(p.dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion", **_output_dtype())(x)
    return keras.Model(inputs, outputs, name="cnn")


def _chunked_input(n_features: int, n_frames: int, chunks: int) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """The input, and its frames cut into ``chunks`` runs of consecutive frames: (chunks, frames/chunk, features, 1)."""
    if n_frames % chunks:
        raise ValueError(f"{n_frames} frames do not split into {chunks} equal chunks")
    inputs = keras.Input((n_features, n_frames), name="features")
    x = layers.Permute((2, 1))(inputs)                                  # (frames, features)
    return inputs, layers.Reshape((chunks, n_frames // chunks, n_features, 1))(x)


def _lstm_head(inputs: keras.KerasTensor, chunk_vectors: keras.KerasTensor, n_classes: int, p: CnnLstmParams
               ) -> keras.Model:
    units = (p.lstm_units,) if isinstance(p.lstm_units, int) else p.lstm_units
    x = chunk_vectors
    for i, n in enumerate(units):      # stacked: every LSTM but the last hands on its whole sequence
        x = layers.LSTM(n, return_sequences=i < len(units) - 1)(x)
    x = layers.Dense(p.dense, activation="relu")(x)
    x = layers.Dropout(p.dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax", name="emotion", **_output_dtype())(x)
    return keras.Model(inputs, outputs, name="cnn_lstm")


def build_cnn_lstm(n_features: int, n_frames: int, n_classes: int, p: CnnLstmParams) -> keras.Model:
    """A CNN applied to each chunk of consecutive frames, then an LSTM over the chunks (time).

    The per-chunk CNN is a Conv3D / MaxPooling3D whose window is 1 deep along the chunk axis: the same
    function, with the same weights, as the report's TimeDistributed(Conv2D) / TimeDistributed(MaxPooling2D)
    (``build_cnn_lstm_time_distributed``), but Keras runs TimeDistributed as one small convolution per
    chunk, and this as one convolution over all chunks: about 5x faster training on 2 CPU cores.
    """
    inputs, x = _chunked_input(n_features, n_frames, p.chunks)
    for filters in p.filters:
        x = layers.Conv3D(filters, (1, p.kernel, p.kernel), padding="same", activation="relu")(x)
        x = layers.MaxPooling3D((1, 2, 2), padding="same")(x)
    return _lstm_head(inputs, layers.Reshape((p.chunks, -1))(x), n_classes, p)


def build_cnn_lstm_time_distributed(n_features: int, n_frames: int, n_classes: int, p: CnnLstmParams
                                    ) -> keras.Model:
    """The report's literal form of ``build_cnn_lstm``: the reference for the benchmark and the tests."""
    inputs, x = _chunked_input(n_features, n_frames, p.chunks)
    for filters in p.filters:
        x = layers.TimeDistributed(layers.Conv2D(filters, p.kernel, padding="same", activation="relu"))(x)
        x = layers.TimeDistributed(layers.MaxPooling2D(2, padding="same"))(x)
    return _lstm_head(inputs, layers.TimeDistributed(layers.Flatten())(x), n_classes, p)


def build_model(arch: str, loss: str, n_features: int, n_frames: int, architectures: ArchitectureParams,
                learning_rate: float, n_classes: int) -> keras.Model:
    builders: dict[str, tuple[Callable[..., keras.Model], object]] = {
        "cnn": (build_cnn, architectures.cnn), "cnn_lstm": (build_cnn_lstm, architectures.cnn_lstm)}
    if arch not in builders:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(builders)}")
    if loss not in LOSS_FUNCTIONS:
        raise ValueError(f"unknown loss {loss!r}; choose one of {sorted(LOSS_FUNCTIONS)}")
    build, arch_params = builders[arch]
    return compile_model(build(n_features, n_frames, n_classes, arch_params), loss, learning_rate)


def compile_model(model: keras.Model, loss: str, learning_rate: float,
                  steps_per_execution: int = STEPS_PER_EXECUTION) -> keras.Model:
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss=LOSS_FUNCTIONS[loss],
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def _reproducible_archive(source: Path, target: Path) -> None:
    """Copy a .keras archive without what changes from one save to the next.

    That is the time of saving (zip entry times, metadata's date_saved) and Keras' ids of objects
    shared between layers, which are memory addresses (renumbered here in order of appearance).
    The same weights then give the same bytes, so DVC sees a retrained but unchanged model as
    unchanged and skips what depends on it.
    """
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for entry in old.infolist():
            data = old.read(entry)
            if entry.filename == "metadata.json":
                data = json.dumps({k: v for k, v in json.loads(data).items() if k != "date_saved"}).encode()
            elif entry.filename == "config.json":
                ids: dict[bytes, bytes] = {}

                def renumber(match: re.Match[bytes], ids: dict[bytes, bytes] = ids) -> bytes:
                    return b'"shared_object_id": ' + ids.setdefault(match[1], str(len(ids) + 1).encode())

                data = re.sub(rb'"shared_object_id": (\d+)', renumber, data)
            new.writestr(zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0)), data,
                         compress_type=entry.compress_type)


@dataclass
class Bundle:
    """A trained model as saved on disk: the network, its normaliser and what it expects."""

    network: keras.Model
    normalisation: str
    stats: dict[str, np.ndarray] | None
    facts: dict  # arch, loss, emotions, sample rate, feature params, protocol

    MODEL_FILE = model_files.MODEL_FILE
    STATS_FILE = model_files.STATS_FILE
    FACTS_FILE = model_files.FACTS_FILE

    def predict_proba(self, features: np.ndarray, n_frames: np.ndarray, batch_size: int = 256) -> np.ndarray:
        x = normalise(features, n_frames, self.normalisation, self.stats)
        batches = tf.data.Dataset.from_tensor_slices(x).batch(batch_size)  # see training.batches
        return self.network.predict(batches, verbose=0)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / self.MODEL_FILE) as tmp:
            keras_tmp = tmp.with_suffix(".keras")  # Keras insists on the extension
            self.network.save(keras_tmp)
            _reproducible_archive(keras_tmp, tmp)
            keras_tmp.unlink()
        with atomic_path(folder / self.STATS_FILE) as tmp, open(tmp, "wb") as f:
            np.savez(f, **(self.stats or {}))  # type: ignore[arg-type]
        with atomic_path(folder / self.FACTS_FILE) as tmp:
            tmp.write_text(json.dumps({"normalisation": self.normalisation, **self.facts}, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path) -> Bundle:
        facts = model_files.read_facts(folder)
        with np.load(folder / cls.STATS_FILE) as data:
            stats = {k: data[k] for k in data.files} or None
        network = keras.models.load_model(folder / cls.MODEL_FILE)
        return cls(network, facts.pop("normalisation"), stats, facts)
