"""Silero VAD (v6, MIT; weights in the ``silero-vad`` wheel, pinned with its hash in
requirements-weights.txt): the speech probability of every 32-ms frame of a recording, in numpy.

Why not the wheel's own entry points: they run the model in torch (JIT) or onnxruntime, and the
served model's path imports neither (``emoser.serving.served``: 0.5 s from the shell instead of
9.5 s). The network is small: a short-time Fourier transform as a convolution (256 taps, hop 128)
over each 512-sample frame and the 64 samples before it (right-padded by reflection), its
magnitudes through four 1-d convolutions (ReLU) to 128 values, one LSTM cell carried from frame to
frame, and a 1x1 convolution with a sigmoid. The weights are those of the wheel's TorchScript model
(``data/silero_vad.jit``; its ``silero_vad_16k.safetensors`` holds other, older weights), read once
with torch and stored by stage package in the served model's arrays. ``tests/test_speech_check.py``
holds the probabilities to the wheel's own model's within 1e-4 on real speech.
"""
from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

from emoser.audio.io import resample
from emoser.core.errors import EmoserError

RATE = 16000
FRAME = 512              # 32 ms
CONTEXT = 64             # samples of the previous frame each frame sees
WEIGHTS = "silero_vad.jit"


def weights_path() -> Path:
    """The weights file inside the installed ``silero-vad`` wheel (its package is not imported)."""
    spec = importlib.util.find_spec("silero_vad")
    if spec is None or not spec.submodule_search_locations:
        raise EmoserError("the silero-vad wheel is not installed: run `bash setup.sh` (requirements-weights.txt)")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / WEIGHTS
    if not path.is_file():
        raise EmoserError(f"{path}: not found in the silero-vad wheel (requirements-weights.txt pins 6.2.3)")
    return path


# the JIT model's parameter names -> the names used here
NAMES = {"stft.forward_basis_buffer": "stft", **{f"encoder.{i}.reparam_conv.{k}": f"conv{i + 1}.{k}"
                                                 for i in range(4) for k in ("weight", "bias")},
         **{f"decoder.rnn.{k}": f"lstm.{k}" for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")},
         "decoder.decoder.2.weight": "final.weight", "decoder.decoder.2.bias": "final.bias"}


@lru_cache(maxsize=1)
def jit_weights() -> dict[str, np.ndarray]:
    """The 16-kHz model's parameters, read from the wheel's TorchScript file (``silero_vad.jit``; needs
    torch: stage package stores them in the served model's arrays, so serving does not)."""
    import torch

    model = torch.jit.load(str(weights_path()), map_location="cpu")._model
    state = {k: v.detach().numpy().astype(np.float32) for k, v in model.state_dict().items()}
    missing = sorted(set(NAMES) - set(state))
    if missing:
        raise EmoserError(f"{weights_path()}: no {missing[0]} (requirements-weights.txt pins silero-vad 6.2.3)")
    return {short: state[name] for name, short in NAMES.items()}


def _conv(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """1-d convolution, kernel 3, padding 1: x (frames, channels, time) -> (frames, out, time')."""
    padded = np.pad(x, ((0, 0), (0, 0), (1, 1)))
    steps = (padded.shape[2] - 3) // stride + 1
    taps = np.stack([padded[:, :, k:k + stride * (steps - 1) + 1:stride] for k in range(3)], axis=-1)   # (f, c, t, 3)
    columns = taps.transpose(0, 2, 1, 3).reshape(x.shape[0] * steps, -1)          # one matrix product (BLAS)
    out = columns @ weight.reshape(weight.shape[0], -1).T + bias
    return out.reshape(x.shape[0], steps, -1).transpose(0, 2, 1)


def _encode(frames: np.ndarray, w: dict[str, np.ndarray]) -> np.ndarray:
    """(frames, CONTEXT + FRAME) samples -> (frames, 128): every frame at once (no state)."""
    x = np.pad(frames, ((0, 0), (0, CONTEXT)), mode="reflect")                       # (f, 640)
    windows = np.lib.stride_tricks.sliding_window_view(x, 256, axis=1)[:, ::128]     # (f, 4, 256)
    spectrum = windows @ w["stft"][:, 0, :].T                             # (f, 4, 258)
    half = spectrum.shape[-1] // 2
    magnitude = np.sqrt(spectrum[..., :half] ** 2 + spectrum[..., half:] ** 2).transpose(0, 2, 1)   # (f, 129, 4)
    x = np.maximum(_conv(magnitude, w["conv1.weight"], w["conv1.bias"], 1), 0)
    x = np.maximum(_conv(x, w["conv2.weight"], w["conv2.bias"], 2), 0)
    x = np.maximum(_conv(x, w["conv3.weight"], w["conv3.bias"], 2), 0)
    x = np.maximum(_conv(x, w["conv4.weight"], w["conv4.bias"], 1), 0)
    return x[:, :, 0]                                                                  # (f, 128)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))


def frame_probabilities(signal: np.ndarray, rate: int, weights: dict[str, np.ndarray] | None = None) -> np.ndarray:
    """Silero's speech probability of each 32-ms frame of ``signal`` (at 16 kHz, from the start; the
    last frame zero-padded), as the wheel's streaming model gives it (``weights``: ``jit_weights()``'s)."""
    w = jit_weights() if weights is None else weights
    audio = resample(np.asarray(signal, dtype=np.float32), rate, RATE).astype(np.float32)
    count = -(-len(audio) // FRAME)
    if count == 0:
        return np.zeros(0, dtype=np.float32)
    padded = np.zeros(CONTEXT + count * FRAME, dtype=np.float32)
    padded[CONTEXT:CONTEXT + len(audio)] = audio
    frames = np.lib.stride_tricks.sliding_window_view(padded, CONTEXT + FRAME)[::FRAME][:count]
    inputs = _encode(frames, w).astype(np.float64) @ w["lstm.weight_ih"].T.astype(np.float64) \
        + (w["lstm.bias_ih"] + w["lstm.bias_hh"])
    hidden_weights = w["lstm.weight_hh"].T.astype(np.float64)
    h, c = np.zeros(128), np.zeros(128)
    out = np.empty(count)
    final, final_bias = w["final.weight"][0, :, 0].astype(np.float64), float(w["final.bias"][0])
    for t in range(count):                       # the LSTM cell (gates i, f, g, o as torch orders them)
        gates = inputs[t] + h @ hidden_weights
        i, f, g, o = np.split(gates, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        out[t] = _sigmoid(np.maximum(h, 0) @ final + final_bias)
    return out.astype(np.float32)


THRESHOLD = 0.5          # the wheel's default: a frame above it is speech


class SpeechDetector:
    """Seconds of speech Silero hears in a recording (frames with probability >= ``THRESHOLD``).
    ``weights``: the served model's stored arrays; None: read from the wheel at the first call."""

    def __init__(self, weights: dict[str, np.ndarray] | None = None):
        self.weights = weights

    def __call__(self, signal: np.ndarray, rate: int) -> float:
        if self.weights is None:
            self.weights = jit_weights()
        probabilities = frame_probabilities(signal, rate, self.weights)
        return float(np.count_nonzero(probabilities >= THRESHOLD) * FRAME / RATE)
