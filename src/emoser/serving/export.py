"""Our model as plain arrays for serving (stage package -> models/served, read by emoser.serving.served).

Everything ``emoser.serving.served`` needs and nothing it must import: the fitted scalers, feature
choices, PCA rotations and logistic regressions of ``models/ours``; Resemblyzer's pretrained LSTM
weights with librosa's window and mel filters for its input; Whisper's encoder weights (the layers
the model reads, float16 as shipped) with its window and mel filters; the fusion's weights and the
calibration temperature.
"""
from __future__ import annotations

import numpy as np

from emoser.models.classical.fusion import FusionModel
from emoser.serving.served import EMBEDDING_PARTS

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
    arrays: dict[str, np.ndarray] = {}
    if "compare" in model.models:
        ensemble = model.models["compare"]
        arrays.update({"smile.keep": ensemble.keep_.get_support(indices=True).astype(np.int64),
                       "smile.mean": ensemble.scaler_.mean_, "smile.scale": ensemble.scaler_.scale_})
        for m, (member, columns) in enumerate(zip(ensemble.members_, ensemble.columns_)):
            arrays[f"smile.member{m}.columns"] = np.asarray(columns, dtype=np.int64)
            arrays.update(_logistic(f"smile.member{m}", member))
    for view, prefix in EMBEDDING_PARTS.items():
        if view in model.models:
            pipeline = model.models[view]
            arrays.update({f"{prefix}.mean": pipeline.named_steps["scale"].mean_,
                           f"{prefix}.scale": pipeline.named_steps["scale"].scale_})
            arrays.update(_logistic(prefix, pipeline.named_steps["model"]))
    return arrays


def encoder_arrays(model: FusionModel) -> dict[str, np.ndarray]:
    """The pretrained encoders' arrays of the views the model fuses."""
    arrays: dict[str, np.ndarray] = {}
    if "voice" in model.models:
        arrays.update(voice_encoder_arrays())
    if "whisper" in model.models:
        arrays.update(whisper_arrays(model.facts["params"]["whisper_layers"]))
    return arrays


def whisper_arrays(layers) -> dict[str, np.ndarray]:
    """Whisper's encoder up to the last layer read (its final norm only if that is the encoder's
    last), float16 as shipped; the periodic Hann window and Whisper's mel filters."""
    import librosa

    from emoser.features.whisper import N_FFT, mel_filters, read_ctranslate2
    from emoser.features.whisper_weights import model_dir
    from emoser.params.whisper import ENCODER_LAYERS
    from emoser.serving.whisper_encoder import PREFIX

    last = max(layers)
    kept = {}
    for name, value in read_ctranslate2(model_dir() / "model.bin", as_float32=False).items():
        block = name.split("/")[0].removeprefix("layer_")
        if block.isdigit() and int(block) > last:
            continue
        if name.startswith("layer_norm/") and last != ENCODER_LAYERS - 1:
            continue
        kept[PREFIX + name] = value
    kept[PREFIX + "window"] = librosa.filters.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
    kept[PREFIX + "mel_filters"] = mel_filters()
    return kept


def voice_encoder_arrays() -> dict[str, np.ndarray]:
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
    members = len(model.models["compare"].members_) if "compare" in model.models else 0
    return {**model.facts, "members": members, "weights": model.weights, "encoder_layers": ENCODER_LAYERS,
            "temperature": temperature}
