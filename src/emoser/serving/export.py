"""Our model as plain arrays for serving (stage package -> models/served, read by emoser.serving.served).

Everything ``emoser.serving.served`` needs and nothing it must import: the fitted scalers, feature
choices, PCA rotations and logistic regressions of ``models/ours``; Resemblyzer's pretrained LSTM
weights with librosa's window and mel filters for its input; the calibration temperature.
"""
from __future__ import annotations

import numpy as np

from emoser.models.classical.fusion import FusionModel

ENCODER_LAYERS = 3


def _logistic(prefix: str, pipeline) -> dict[str, np.ndarray]:
    """A ``make_member`` pipeline (PCA, then logistic regression) as one affine map: the rotation
    ``(x - mean) @ components.T`` folded into the weights, so serving multiplies once."""
    pca, lr = pipeline.named_steps["rotate"], pipeline.named_steps["classify"]
    weights = pca.components_.T.astype(np.float64) @ lr.coef_.T.astype(np.float64)
    return {f"{prefix}.weights": weights, f"{prefix}.bias": lr.intercept_ - pca.mean_.astype(np.float64) @ weights,
            f"{prefix}.classes": np.asarray(lr.classes_, dtype=np.int64)}


def model_arrays(model: FusionModel) -> dict[str, np.ndarray]:
    """The fusion's fitted parameters, named as ``emoser.serving.served.ServedModel`` reads them."""
    ensemble, voice = model.functionals_model, model.voice_model
    arrays = {"smile.keep": ensemble.keep_.get_support(indices=True).astype(np.int64),
              "smile.mean": ensemble.scaler_.mean_, "smile.scale": ensemble.scaler_.scale_,
              "voice.mean": voice.named_steps["scale"].mean_, "voice.scale": voice.named_steps["scale"].scale_}
    for m, (member, columns) in enumerate(zip(ensemble.members_, ensemble.columns_)):
        arrays[f"smile.member{m}.columns"] = np.asarray(columns, dtype=np.int64)
        arrays.update(_logistic(f"smile.member{m}", member))
    arrays.update(_logistic("voice", voice.named_steps["model"]))
    return arrays


def encoder_arrays() -> dict[str, np.ndarray]:
    """Resemblyzer's LSTM weights, and the window and mel filters of its input (as librosa makes them)."""
    from emoser.features.voice_encoder import load_encoder

    encoder = load_encoder()      # first: it imports Resemblyzer with webrtcvad's pkg_resources warning silenced
    import librosa
    from resemblyzer.hparams import mel_n_channels, sampling_rate

    from emoser.serving.served import MEL_FFT

    state = encoder.lstm.state_dict()
    arrays = {f"encoder.{name}": tensor.numpy().copy() for name, tensor in state.items()}
    assert len(arrays) == 4 * ENCODER_LAYERS, sorted(arrays)
    arrays["encoder.window"] = librosa.filters.get_window("hann", MEL_FFT, fftbins=True)
    arrays["encoder.mel_basis"] = librosa.filters.mel(sr=sampling_rate, n_fft=MEL_FFT, n_mels=mel_n_channels)
    return arrays


def facts(model: FusionModel, temperature: float) -> dict:
    return {**model.facts, "members": len(model.functionals_model.members_), "embedding_weight": model.embedding_weight,
            "encoder_layers": ENCODER_LAYERS, "temperature": temperature}
