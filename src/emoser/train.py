"""Stage 5, train: one model, named by arch and loss; the four variants are this one code
path with a different (arch, loss).

    python -m emoser.train --name model                          # the shipped model: params' model.arch/loss
    python -m emoser.train --name study/cnn-mse --arch cnn --loss mse
"""
from __future__ import annotations

import argparse
import logging
import time

import numpy as np
import pandas as pd

from . import paths
from .cli import progress_enabled, stage
from .corpus import EMOTIONS
from .dataset import Subset, load_subsets
from .normalisation import fit_normaliser, normalise
from .files import write_csv
from .models import Bundle, build_model
from .params import ARCHS, LOSSES, Params, flatten, load_params

import keras  # noqa: E402  (after .cli quieted TensorFlow)
import tensorflow as tf  # noqa: E402

log = logging.getLogger(__name__)

# The params a trained model depends on, recorded in its bundle (and logged to MLflow): the stages
# upstream of it and its own. Not fetch (where the corpus came from is machine-specific; its checksum
# is in dvc.lock), nor model.* (the variant's arch and loss are recorded as such), nor what comes after.
MODEL_PARAM_SECTIONS = ("audio", "augment", "features", "split", "train", "architectures")


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


def train_variant(name: str, arch: str, loss: str, params: Params, train: Subset, val: Subset
                  ) -> tuple[Bundle, pd.DataFrame]:
    """Train one (arch, loss) on ``train`` with early stopping on ``val``; deterministic per seed."""
    keras.utils.set_random_seed(params.train.seed)
    tf.config.experimental.enable_op_determinism()
    mode = params.features.normalisation
    stats = fit_normaliser(train.features, train.n_frames) if mode == "train" else None
    x_train = normalise(train.features, train.n_frames, mode, stats)
    x_val = normalise(val.features, val.n_frames, mode, stats)
    y_train = keras.utils.to_categorical(train.labels, len(EMOTIONS))
    y_val = keras.utils.to_categorical(val.labels, len(EMOTIONS))

    network = build_model(arch, loss, x_train.shape[1], x_train.shape[2], params.architectures,
                          params.train.learning_rate)
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.train.patience,
                                            restore_best_weights=True)
    log.info("training %s (%s, %s loss) on %d clips, validating on %d", name, arch, loss, len(train), len(val))
    batch_size = params.train.batch_size
    fit = network.fit(batches(x_train, y_train, batch_size, shuffle_seed=params.train.seed),
                      validation_data=batches(x_val, y_val, batch_size), epochs=params.train.epochs,
                      callbacks=[stopper, _EpochLog(name)], verbose=2 if progress_enabled() else 0)
    history = pd.DataFrame(fit.history)
    history.insert(0, "epoch", np.arange(1, len(history) + 1))
    history["best"] = history["epoch"] == int(history["val_loss"].idxmin()) + 1
    facts = {"name": name, "arch": arch, "loss": loss, "emotions": list(EMOTIONS),
             "sample_rate": params.audio.sample_rate, "features": params.features.model_dump(),
             "protocol": params.split.protocol, "epochs_run": len(history),
             "best_epoch": int(history.loc[history["best"], "epoch"].iloc[0]),
             "params": {k: v for k, v in flatten(params).items() if k.split(".")[0] in MODEL_PARAM_SECTIONS}}
    return Bundle(network, mode, stats, facts), history


@stage
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="output name: models/NAME, plots/NAME")
    parser.add_argument("--arch", choices=ARCHS, help="override model.arch (the study variants)")
    parser.add_argument("--loss", choices=LOSSES, help="override model.loss (the study variants)")
    args = parser.parse_args(argv)
    params = load_params()
    arch, loss = args.arch or params.model.arch, args.loss or params.model.loss
    data = load_subsets(("train", "val"))
    bundle, history = train_variant(args.name, arch, loss, params, data["train"], data["val"])
    bundle.save(paths.MODELS / args.name)
    write_csv(paths.PLOTS / args.name / "history.csv", history.round(6))


if __name__ == "__main__":
    main()
