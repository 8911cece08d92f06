"""Our model as plain arrays for serving (stage package -> models/served, read by emoser.serving.served).

Everything ``emoser.serving.served`` needs and nothing it must import: for each view of
``served.SERVED_VIEWS`` that ``models/ours`` fuses, its fitted scalers, feature choices, PCA rotations
and logistic regressions, and what the view computes with (``ServedView.pretrained_arrays``:
Resemblyzer's LSTM weights, Whisper's encoder layers in float16 as shipped, their windows and mel
filters); the fusion's weights and the calibration temperature.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emoser.core.errors import EmoserError
from emoser.models.classical.fusion import FusionModel
from emoser.serving.served import ADAPTED, ENCODER_LAYERS, SERVED_VIEWS, SILERO
from emoser.serving.silero import jit_weights


def _logistic(prefix: str, pipeline) -> dict[str, np.ndarray]:
    """A ``make_member`` pipeline (PCA, then logistic regression) as one affine map: the rotation
    ``(x - mean) @ components.T`` folded into the weights, so serving multiplies once."""
    pca, lr = pipeline.named_steps["rotate"], pipeline.named_steps["classify"]
    weights = pca.components_.T.astype(np.float64) @ lr.coef_.T.astype(np.float64)
    return {f"{prefix}.weights": weights, f"{prefix}.bias": lr.intercept_ - pca.mean_.astype(np.float64) @ weights,
            f"{prefix}.classes": np.asarray(lr.classes_, dtype=np.int64)}


def model_arrays(model: FusionModel) -> dict[str, np.ndarray]:
    """The fusion's fitted parameters, each view's named as its ``ServedView`` reads them."""
    arrays: dict[str, np.ndarray] = {}
    for name, served in SERVED_VIEWS.items():
        if name not in model.models:
            continue
        fitted, p = model.models[name], served.prefix
        if served.ensemble:
            arrays.update({f"{p}.keep": fitted.keep_.get_support(indices=True).astype(np.int64),
                           f"{p}.mean": fitted.scaler_.mean_, f"{p}.scale": fitted.scaler_.scale_})
            for m, (member, columns) in enumerate(zip(fitted.members_, fitted.columns_)):
                arrays[f"{p}.member{m}.columns"] = np.asarray(columns, dtype=np.int64)
                arrays.update(_logistic(f"{p}.member{m}", member))
        else:
            arrays.update({f"{p}.mean": fitted.named_steps["scale"].mean_,
                           f"{p}.scale": fitted.named_steps["scale"].scale_})
            arrays.update(_logistic(p, fitted.named_steps["model"]))
    return arrays


def encoder_arrays(model: FusionModel) -> dict[str, np.ndarray]:
    """What the views the model fuses compute with (the pretrained encoders' arrays)."""
    arrays: dict[str, np.ndarray] = {}
    for name, served in SERVED_VIEWS.items():
        if name in model.models:
            arrays.update(served.pretrained_arrays(model.facts))
    return arrays


def adapted_arrays(folder) -> tuple[dict[str, np.ndarray], dict]:
    """The adapted twin of stage fit (``folder``: models/ours/adapted), its arrays under ``ADAPTED``
    and its facts (weights, members); nothing when there is none."""
    if not (folder / FusionModel.FILE).is_file():
        return {}, {}
    twin = FusionModel.load(folder)
    arrays = {ADAPTED + k: v for k, v in model_arrays(twin).items()}
    return arrays, {"weights": twin.weights, "members": facts(twin, 1.0)["members"],
                    "adaptation": twin.facts.get("adaptation"), "temperature": served_temperature(twin, folder)}


def served_temperature(model: FusionModel, folder: Path) -> float:
    """The temperature stage fit chose for ``model`` (fitted on its held-out probabilities)."""
    if "temperature" not in model.facts:
        raise EmoserError(f"stage package: {folder / FusionModel.FACTS_FILE} has no temperature (fitted before "
                          "stage fit chose one); rerun stage fit")
    return float(model.facts["temperature"]["value"])


def speech_arrays() -> dict[str, np.ndarray]:
    """The speech check's Silero VAD (read from its wheel with torch, served with numpy)."""
    return {f"{SILERO}.{name}": values for name, values in jit_weights().items()}


def facts(model: FusionModel, temperature: float) -> dict:
    members = next((len(model.models[name].members_) for name, served in SERVED_VIEWS.items()
                    if served.ensemble and name in model.models), 0)
    return {**model.facts, "members": members, "weights": model.weights, "encoder_layers": ENCODER_LAYERS,
            "temperature": temperature}
