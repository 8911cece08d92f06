"""Whisper base's encoder as a view of a recording, for our model (extractor whisper).

OpenAI's Whisper (Radford et al., 2022) was trained to transcribe 680,000 hours of speech in 97
languages; its encoder never heard Emo-DB or RAVDESS. Each recording is resampled to 16 kHz,
zero-padded to ``window_s`` seconds (Whisper was trained on 30-s windows; a shorter window is
cheaper, and what it costs in accuracy was measured inside the folds: docs/whisper.md), turned into
Whisper's 80-band log-mel spectrogram and encoded. The statistics are each chosen layer's mean and
standard deviation over the frames that cover the recording (20 ms each; the padding's frames are
left out): 1024 values per layer.

Why an encoder written here: CTranslate2 (``ctranslate2.models.Whisper.encode``) returns only the
last layer, and middle layers carry more of how something is said than what is said. ``Encoder``
runs the same weights (read from the CTranslate2 ``model.bin``) in PyTorch and returns every layer;
tests/test_whisper.py checks its last layer against CTranslate2's own.
"""
from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from emoser.audio.io import read, resample
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals
from emoser.features.whisper_weights import model_dir

log = logging.getLogger(__name__)
SAMPLE_RATE = 16_000
N_FFT = 400                  # 25 ms
HOP = 160                    # 10 ms: one mel frame; the encoder's frames are 2 of them (stride-2 conv)
N_MELS = 80
MAX_WINDOW_S = 30.0          # the encoder's 1500 positions
FRAME_SAMPLES = 2 * HOP
# CTranslate2's DataType enum (include/ctranslate2/types.h), as model_spec._dtype_to_type_id writes it
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


@lru_cache(maxsize=1)
def mel_filters() -> np.ndarray:
    """Whisper's 80 mel filters (they were made with this librosa call: Slaney scale and norm)."""
    import librosa

    return librosa.filters.mel(sr=SAMPLE_RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def log_mel(signal: np.ndarray) -> np.ndarray:
    """Whisper's log-mel spectrogram of a 16-kHz signal: (80, len // 160), as ``whisper.log_mel_spectrogram``
    makes it (periodic Hann STFT, centred with reflection, last frame dropped, log10 clipped 8 below
    its maximum, scaled to about [-1, 1])."""
    import librosa

    power = np.abs(librosa.stft(signal.astype(np.float32), n_fft=N_FFT, hop_length=HOP, window="hann",
                                center=True, pad_mode="reflect")) ** 2
    log_spec = np.log10(np.maximum(mel_filters() @ power[:, :-1], 1e-10))
    return ((np.maximum(log_spec, log_spec.max() - 8.0) + 4.0) / 4.0).astype(np.float32)


def read_ctranslate2(path: Path, prefix: str = "encoder/", as_float32: bool = True) -> dict[str, np.ndarray]:
    """The variables named ``prefix...`` of a CTranslate2 ``model.bin`` (binary version 6, as
    ``ctranslate2.specs.model_spec.ModelSpec._serialize`` writes it), as float32 arrays (or as stored)."""
    variables = {}
    with open(path, "rb") as f:
        def unpack(fmt: str):
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]

        def string() -> str:
            return f.read(unpack("H"))[:-1].decode()

        version = unpack("I")
        if version != 6:
            raise EmoserError(f"{path}: CTranslate2 binary version {version}, this reader knows 6")
        string(), unpack("I")                      # spec name, revision
        for _ in range(unpack("I")):
            name, rank = string(), unpack("B")
            shape = [unpack("I") for _ in range(rank)]
            dtype, size = _DTYPES[unpack("B")], unpack("I")
            if name.startswith(prefix):
                value = np.frombuffer(f.read(size), dtype=dtype).reshape(shape)
                variables[name[len(prefix):]] = value.astype(np.float32) if as_float32 else value.copy()
            else:
                f.seek(size, 1)
    return variables


class Encoder:
    """Whisper's encoder in PyTorch over a CTranslate2 model's weights: every layer's output."""

    def __init__(self, folder: Path, heads: int = 8):
        import torch

        self.weights = {k: torch.from_numpy(v) for k, v in read_ctranslate2(folder / "model.bin").items()}
        self.n_layers = sum(1 for k in self.weights if k.endswith("self_attention/linear_0/weight"))
        self.heads = int(self.weights.pop("num_heads").item()) if "num_heads" in self.weights else heads

    def _norm(self, x, name):
        import torch.nn.functional as F

        return F.layer_norm(x, x.shape[-1:], self.weights[f"{name}/gamma"], self.weights[f"{name}/beta"], eps=1e-5)

    def _linear(self, x, name):
        import torch.nn.functional as F

        return F.linear(x, self.weights[f"{name}/weight"], self.weights[f"{name}/bias"])

    def __call__(self, mel: np.ndarray) -> list[np.ndarray]:
        """(80, 2T) log-mel -> each layer's (T, 512) output; the last after the final layer norm, as
        CTranslate2's ``encode`` returns it."""
        import torch
        import torch.nn.functional as F

        w = self.weights
        with torch.no_grad():
            x = torch.from_numpy(mel)[None]
            x = F.gelu(F.conv1d(x, w["conv1/weight"], w["conv1/bias"], padding=1))
            x = F.gelu(F.conv1d(x, w["conv2/weight"], w["conv2/bias"], stride=2, padding=1))[0].T
            x = x + w["position_encodings/encodings"][: len(x)]
            outputs = []
            for i in range(self.n_layers):
                layer = f"layer_{i}"
                q, k, v = self._linear(self._norm(x, f"{layer}/self_attention/layer_norm"),
                                       f"{layer}/self_attention/linear_0").chunk(3, dim=-1)
                heads = [t.reshape(len(x), self.heads, -1).transpose(0, 1)[None] for t in (q, k, v)]
                attended = F.scaled_dot_product_attention(*heads)[0].transpose(0, 1).reshape(len(x), -1)
                x = x + self._linear(attended, f"{layer}/self_attention/linear_1")
                hidden = F.gelu(self._linear(self._norm(x, f"{layer}/ffn/layer_norm"), f"{layer}/ffn/linear_0"))
                x = x + self._linear(hidden, f"{layer}/ffn/linear_1")
                outputs.append(x)
            outputs[-1] = self._norm(x, "layer_norm")
        return [o.numpy() for o in outputs]


def window(signal: np.ndarray, window_s: float | None) -> np.ndarray:
    """The encoder's input: the 16-kHz ``signal`` zero-padded to ``window_s`` (None: as it is), cut to 30 s."""
    size = len(signal) if window_s is None else max(len(signal), round(window_s * SAMPLE_RATE))
    size = min(size, round(MAX_WINDOW_S * SAMPLE_RATE))
    return np.pad(signal[:size], (0, size - min(len(signal), size)))


def layer_statistics(encoder: Encoder, signal: np.ndarray, sample_rate: int, window_s: float | None,
                     layers: Sequence[int], pooling: str = "window") -> np.ndarray:
    """Mean and std over frames of each of ``layers`` (0-based): (1024 * len(layers),). ``pooling``:
    over every frame of the window (``window``) or over the recording's frames only (``recording``)."""
    wav = resample(signal.astype(np.float32), sample_rate, SAMPLE_RATE)
    outputs = encoder(log_mel(window(wav, window_s)))
    frames = len(outputs[0])
    if pooling == "recording":
        frames = max(1, min(int(np.ceil(len(wav) / FRAME_SAMPLES)), frames))
    return np.concatenate([np.concatenate([outputs[i][:frames].mean(axis=0), outputs[i][:frames].std(axis=0)])
                           for i in layers]).astype(np.float32)


def statistic_names(layers: Sequence[int], units: int = 512) -> list[str]:
    return [f"whisper{i}_{stat}_{j:03d}" for i in layers for stat in ("mean", "std") for j in range(units)]


@lru_cache(maxsize=1)
def load_encoder() -> Encoder:
    """Whisper base's encoder, its weights checked (one load per process)."""
    return Encoder(model_dir())


def _embed_batch(files: list[Path], window_s: float | None, layers: tuple[int, ...], pooling: str) -> np.ndarray:
    import torch

    torch.set_num_threads(1)     # one thread per worker: the pool parallelises, and sums keep one order
    encoder = load_encoder()
    with threadpool_limits(1):
        return np.stack([layer_statistics(encoder, *read(path), window_s, layers, pooling) for path in files])


def extract(files: list[Path], utterances: list[str], window_s: float | None, layers: Sequence[int],
            pooling: str = "window", jobs: int = -1, batch: int = 16) -> Functionals:
    """``layer_statistics`` of every file, ``jobs`` processes (the weights are joined first, here)."""
    model_dir()
    layers = tuple(layers)
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]
    results = Parallel(n_jobs=jobs, return_as="generator")(delayed(_embed_batch)(part, window_s, layers, pooling)
                                                           for part in batches)
    values = list(tqdm(results, total=len(batches), desc="whisper", disable=None))
    return Functionals(np.asarray(utterances), np.asarray(statistic_names(layers)), np.concatenate(values))
