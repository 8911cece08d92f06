"""Training one network: the four variants are this one code path with a different (arch, loss).

Used by stage train (the shipped model and the report's 2x2 study) and by cross-validation.
"""
from __future__ import annotations

import logging
import time

import numpy as np
import pandas as pd
from pydantic import Field

from .config import Section
from .corpus import EMOTIONS
from .dataset import Subset
from .networks import Bundle, build_model, keras, tf  # Keras and TensorFlow as emoser.networks imports them
from .normalisation import fit_normaliser, normalise
from .runtime import progress_enabled
from .variants import ArchitectureParams

log = logging.getLogger(__name__)


class TrainParams(Section):
    """Shared by every trained model."""
    epochs: int = Field(ge=1)
    batch_size: int = Field(ge=1)
    learning_rate: float = Field(gt=0)
    patience: int = Field(ge=0)
    seed: int


class _EpochLog(keras.callbacks.Callback):
    def __init__(self, name: str):
        super().__init__()
        self.name, self.started = name, time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        log.info("%s epoch %d: loss %.4f acc %.3f val_loss %.4f val_acc %.3f (%.1f s)", self.name, epoch + 1,
                 logs.get("loss", np.nan), logs.get("accuracy", np.nan), logs.get("val_loss", np.nan),
                 logs.get("val_accuracy", np.nan), time.perf_counter() - self.started)
        self.started = time.perf_counter()


def batches(x: np.ndarray, y: np.ndarray, batch_size: int, shuffle_seed: int | None = None) -> tf.data.Dataset:
    """Batches as a tf.data pipeline (Keras' own numpy adapter logs spurious TensorFlow errors)."""
    data = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle_seed is not None:
        data = data.shuffle(len(x), seed=shuffle_seed, reshuffle_each_iteration=True)
    return data.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def train_variant(name: str, arch: str, loss: str, settings: TrainParams, architectures: ArchitectureParams,
                  normalisation: str, train: Subset, val: Subset) -> tuple[Bundle, pd.DataFrame]:
    """Train one (arch, loss) on ``train`` with early stopping on ``val``; deterministic per seed.

    The bundle's facts hold what training knows (name, arch, loss, emotions, epochs); the caller
    adds what the model was made from (stage train: its params)."""
    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    mode = normalisation
    stats = fit_normaliser(train.features, train.n_frames) if mode == "train" else None
    x_train = normalise(train.features, train.n_frames, mode, stats)
    x_val = normalise(val.features, val.n_frames, mode, stats)
    y_train = keras.utils.to_categorical(train.labels, len(EMOTIONS))
    y_val = keras.utils.to_categorical(val.labels, len(EMOTIONS))

    network = build_model(arch, loss, x_train.shape[1], x_train.shape[2], architectures, settings.learning_rate)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience,
                                            restore_best_weights=True)
    log.info("training %s (%s, %s loss) on %d clips, validating on %d", name, arch, loss, len(train), len(val))
    batch_size = settings.batch_size
    fit = network.fit(batches(x_train, y_train, batch_size, shuffle_seed=settings.seed),
                      validation_data=batches(x_val, y_val, batch_size), epochs=settings.epochs,
                      callbacks=[stopper, _EpochLog(name)], verbose=2 if progress_enabled() else 0)
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["best"] = history["epoch"] == int(history["val_loss"].idxmin()) + 1
    facts = {"name": name, "arch": arch, "loss": loss, "emotions": list(EMOTIONS), "epochs_run": len(history),
             "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0])}
    return Bundle(network, mode, stats, facts), history



def shipped_facts(trained: dict, sample_rate: int, features: dict, protocol: str, params: dict[str, object]) -> dict:
    """A saved model's facts (model.json): training's own, plus what the model was made from and
    what predict needs (sample rate, feature settings), in one fixed order."""
    return {**{k: trained[k] for k in ("name", "arch", "loss", "emotions")}, "sample_rate": sample_rate,
            "features": features, "protocol": protocol,
            **{k: trained[k] for k in ("epochs_run", "best_epoch")}, "params": params}
