"""Training one network: the four variants are this one code path with a different (arch, loss).

Used by stage train (the shipped model and the report's 2x2 study) and by cross-validation.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from emoser.core.errors import EmoserError
from emoser.core.runtime import progress_enabled
from emoser.features.dataset import Subset
from emoser.features.normalisation import fit_normaliser, normalise
from emoser.models.networks.architectures import (  # Keras and TensorFlow as emoser's networks import them
    Bundle,
    build_model,
    keras,
    precision_policy,
    tf,
)
from emoser.models.networks.precision import training_precision
from emoser.params.networks import ArchitectureParams, TrainParams

log = logging.getLogger(__name__)


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


def use_threads(threads: int) -> None:
    """TensorFlow's threads in this process (``compute.threads_per_task``). Part of a training's result:
    the thread count decides how oneDNN splits its float sums (1 and 2 threads give other weights),
    so it comes from params, not from the machine's core count. Set before TensorFlow's first op."""
    threading = tf.config.threading
    if (threading.get_intra_op_parallelism_threads(), threading.get_inter_op_parallelism_threads()) == (threads,) * 2:
        return
    try:
        threading.set_intra_op_parallelism_threads(threads)
        threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:
        raise EmoserError(f"compute.threads_per_task: TensorFlow already runs with "
                          f"{threading.get_intra_op_parallelism_threads() or 'all the cores as'} threads in this "
                          f"process and cannot switch to {threads}") from None


def batches(subset: Subset, mode: str, stats: dict[str, np.ndarray] | None, batch_size: int, n_classes: int,
            shuffle_seed: int | None = None) -> tf.data.Dataset:
    """``subset``'s normalised features and one-hot labels in batches, read from disk batch by batch
    (memory does not grow with the corpus). tf.data shuffles the items' indices with the seed, which
    is the order it gives the rows themselves: streaming changes no weight (tests/test_training.py)."""
    n_frames = subset.n_frames
    onehot = keras.utils.to_categorical(subset.labels, n_classes).astype(np.float32)

    def load(items: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return normalise(subset.read(items), n_frames[items], mode, stats), onehot[items]

    def read(items: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x, y = tf.numpy_function(load, [items], (tf.float32, tf.float32), stateful=False)
        x.set_shape((None, *subset.store.shape[1:]))
        y.set_shape((None, n_classes))
        return x, y

    items = tf.data.Dataset.range(len(subset))
    if shuffle_seed is not None:
        items = items.shuffle(len(subset), seed=shuffle_seed, reshuffle_each_iteration=True)
    return items.batch(batch_size).map(read).prefetch(tf.data.AUTOTUNE)


def train_variant(name: str, arch: str, loss: str, settings: TrainParams, architectures: ArchitectureParams,
                  normalisation: str, train: Subset, val: Subset, emotions: Sequence[str]
                  ) -> tuple[Bundle, pd.DataFrame]:
    """Train one (arch, loss) on ``train`` with early stopping on ``val``; deterministic per seed.
    ``emotions``: the corpus's classes in label order (one output unit each).

    The bundle's facts hold what training knows (name, arch, loss, emotions, epochs); the caller
    adds what the model was made from (stage train: its params)."""
    keras.utils.set_random_seed(settings.seed)
    tf.config.experimental.enable_op_determinism()
    mode = normalisation
    stats = fit_normaliser(train.read, train.n_frames) if mode == "train" else None
    n_features, n_frames = train.store.shape[1:]
    with precision_policy(training_precision(settings.precision)):   # the stages hand it resolved
        network = build_model(arch, loss, n_features, n_frames, architectures, settings.learning_rate, len(emotions))
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=settings.patience,
                                            restore_best_weights=True)
    log.info("training %s (%s, %s loss) on %d clips, validating on %d", name, arch, loss, len(train), len(val))
    batch_size = settings.batch_size
    fit = network.fit(batches(train, mode, stats, batch_size, len(emotions), shuffle_seed=settings.seed),
                      validation_data=batches(val, mode, stats, batch_size, len(emotions)), epochs=settings.epochs,
                      callbacks=[stopper, _EpochLog(name)], shuffle=False, verbose=2 if progress_enabled() else 0)
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["best"] = history["epoch"] == int(history["val_loss"].idxmin()) + 1
    facts = {"name": name, "arch": arch, "loss": loss, "emotions": list(emotions), "epochs_run": len(history),
             "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0])}
    return Bundle(network, mode, stats, facts), history



def shipped_facts(trained: dict, sample_rate: int, features: dict, protocol: str, params: dict[str, object]) -> dict:
    """A saved model's facts (model.json): training's own, plus what the model was made from and
    what predict needs (sample rate, feature settings), in one fixed order."""
    return {**{k: trained[k] for k in ("name", "arch", "loss", "emotions")}, "sample_rate": sample_rate,
            "features": features, "protocol": protocol,
            **{k: trained[k] for k in ("epochs_run", "best_epoch")}, "params": params}
