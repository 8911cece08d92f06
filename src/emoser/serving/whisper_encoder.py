"""Whisper base's encoder in numpy, for the served model (``emoser.serving.served``).

The same steps as ``emoser.features.whisper`` (librosa's STFT, PyTorch's encoder), over the arrays
stage package stores: the periodic Hann window, Whisper's mel filters and the encoder's weights (as
float16, as the CTranslate2 ``model.bin`` holds them; only the layers the model reads). Written in
numpy for the reason the served model is: importing torch and librosa alone takes seconds. Its
contract: the statistics within 1e-3 of ``emoser.features.whisper.layer_statistics`` (PyTorch's
float32 sums in another order), guarded by tests/test_served.py.
"""
from __future__ import annotations

import numpy as np

from emoser.audio.io import resample

PREFIX = "whisper."
SAMPLE_RATE, N_FFT, HOP, FRAME_SAMPLES, MAX_WINDOW_S = 16_000, 400, 160, 320, 30.0


def log_mel(wav: np.ndarray, window: np.ndarray, filters: np.ndarray) -> np.ndarray:
    """``emoser.features.whisper.log_mel``: centred frames (reflection), power, last frame dropped."""
    padded = np.pad(wav.astype(np.float32), N_FFT // 2, mode="reflect")
    count = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(padded, (N_FFT, count), (padded.strides[0], HOP * padded.strides[0]))
    spectrum = np.fft.rfft(window[:, None].astype(np.float32) * frames, axis=0).astype(np.complex64)
    power = (np.abs(spectrum) ** 2)[:, :-1]
    log_spec = np.log10(np.maximum(filters @ power, 1e-10))
    return ((np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


# Abramowitz & Stegun 7.1.26: erf within 1.5e-7 of the exact function
_ERF_P = np.float32(0.3275911)
_ERF_A = [np.float32(a) for a in (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)]


def erf(x: np.ndarray) -> np.ndarray:
    """The error function, within 1.5e-7 (Abramowitz & Stegun 7.1.26), in float32 numpy. Written out
    rather than ``scipy.special.erf``: that took 16 ms on one layer's 200 x 2048 activations here,
    this ~2 ms, and the encoder calls it 8 times a window (its contract is unchanged: the
    statistics within 1e-3 of the library's, tests/test_served.py)."""
    z = np.abs(x)
    t = 1 / (1 + _ERF_P * z)
    poly = _ERF_A[0]
    for a in _ERF_A[1:]:
        poly = poly * t + a
    return np.sign(x) * (1 - poly * t * np.exp(-z * z))


def _gelu(x: np.ndarray) -> np.ndarray:
    """PyTorch's exact GELU: x * Phi(x)."""
    return 0.5 * x * (1.0 + erf(x * np.float32(1 / np.sqrt(2.0))))


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """PyTorch's conv1d with padding 1 (kernel 3): (channels, T) -> (out, T')."""
    padded = np.pad(x, ((0, 0), (1, 1)))
    size = (padded.shape[1] - weight.shape[2]) // stride + 1
    columns = np.stack([padded[:, k:k + stride * size:stride] for k in range(weight.shape[2])], axis=1)
    return weight.reshape(len(weight), -1) @ columns.reshape(-1, size) + bias[:, None]


def _norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-5) * gamma + beta


class WhisperEncoder:
    """The encoder's layers up to the last one a model reads."""

    def __init__(self, arrays: dict[str, np.ndarray], heads: int):
        self.w = {k[len(PREFIX):]: v.astype(np.float32) for k, v in arrays.items() if k.startswith(PREFIX)}
        self.heads = heads
        self.n_layers = sum(1 for k in self.w if k.endswith("self_attention/linear_0/weight"))

    def __call__(self, mel: np.ndarray) -> list[np.ndarray]:
        """Each stored layer's (T, 512) output; the encoder's last after its final layer norm (stored
        only when the model reads that layer)."""
        w = self.w
        x = _gelu(_conv(mel, w["conv1/weight"], w["conv1/bias"], 1))
        x = _gelu(_conv(x, w["conv2/weight"], w["conv2/bias"], 2)).T
        x = x + w["position_encodings/encodings"][: len(x)]
        outputs = []
        for i in range(self.n_layers):
            p = f"layer_{i}/"
            h = _norm(x, w[p + "self_attention/layer_norm/gamma"], w[p + "self_attention/layer_norm/beta"])
            qkv = h @ w[p + "self_attention/linear_0/weight"].T + w[p + "self_attention/linear_0/bias"]
            q, k, v = (t.reshape(len(x), self.heads, -1).transpose(1, 0, 2) for t in np.split(qkv, 3, axis=1))
            scores = q @ k.transpose(0, 2, 1) / np.sqrt(q.shape[2], dtype=np.float32)
            scores = np.exp(scores - scores.max(axis=2, keepdims=True))
            attended = (scores / scores.sum(axis=2, keepdims=True)) @ v
            x = x + attended.transpose(1, 0, 2).reshape(len(x), -1) @ w[p + "self_attention/linear_1/weight"].T \
                + w[p + "self_attention/linear_1/bias"]
            h = _norm(x, w[p + "ffn/layer_norm/gamma"], w[p + "ffn/layer_norm/beta"])
            h = _gelu(h @ w[p + "ffn/linear_0/weight"].T + w[p + "ffn/linear_0/bias"])
            x = x + h @ w[p + "ffn/linear_1/weight"].T + w[p + "ffn/linear_1/bias"]
            outputs.append(x)
        if "layer_norm/gamma" in w:
            outputs[-1] = _norm(x, w["layer_norm/gamma"], w["layer_norm/beta"])
        return outputs


def statistics(encoder: WhisperEncoder, signal: np.ndarray, rate: int, window: np.ndarray, filters: np.ndarray,
               window_s: float | None, layers: list[int], pooling: str) -> np.ndarray:
    """``emoser.features.whisper.layer_statistics`` of one recording."""
    wav = resample(signal.astype(np.float32), rate, SAMPLE_RATE)
    length = len(wav)
    size = len(wav) if window_s is None else max(len(wav), round(window_s * SAMPLE_RATE))
    size = min(size, round(MAX_WINDOW_S * SAMPLE_RATE))
    wav = np.pad(wav[:size], (0, size - min(len(wav), size)))
    outputs = encoder(log_mel(wav, window, filters))
    frames = len(outputs[0])
    if pooling == "recording":
        frames = max(1, min(int(np.ceil(length / FRAME_SAMPLES)), frames))
    return np.concatenate([np.concatenate([outputs[i][:frames].mean(axis=0), outputs[i][:frames].std(axis=0)])
                           for i in layers]).astype(np.float32)
