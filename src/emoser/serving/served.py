"""Our model as it is served: plain arrays and numpy (``emoser predict``'s default, the MLflow model).

Stage package writes ``models/served/``: ``arrays.npz`` (every fitted matrix of ``models/ours`` and
of the pretrained voice encoder and Whisper's encoder) and ``model.json`` (facts, the fusion's
weights, the calibration temperature) and the speech check's Silero VAD. Serving then needs numpy,
scipy's erf, soundfile, soxr, openSMILE's C library, WebRTC's voice-activity detector and CTranslate2:
not scikit-learn, torch, librosa, pandas or the ``opensmile`` Python package, whose imports alone
take ~8 s on 2 cores. Each step repeats what training did, in the same order:

- openSMILE: the same C library, configuration and 16-bit conversion as ``opensmile.Smile``
  (identical functionals);
- the voice encoder's input: Resemblyzer's ``preprocess_wav`` (soxr resampling as librosa's
  ``soxr_hq``, volume normalisation, long silences cut by the VAD) and ``librosa.feature.
  melspectrogram`` (same window and mel filters, stored); its three LSTM layers in numpy;
- Whisper's log-mel input and encoder in numpy (``emoser.serving.whisper_encoder``);
- each view's logistic-regression part: scaler, feature choice, PCA rotation and weights (one
  matrix), softmax; the fusion's weighted average;
- then the temperature that calibrates the fused probabilities (stage calibrate).

Each view is a ``ServedView`` (``SERVED_VIEWS``, the served side of ``emoser.features.views``): the
arrays of its model, what stage package packs for it, and its features of one window.

Why these are re-implementations and not the library calls the rest of emoser makes: the imports
alone took one file from the shell from 9.5 s to 0.5 s. Their contract: each step gives what its
library gives (the same samples, functionals and mel filters; the LSTM statistics within 2e-6),
and the served probabilities are ``models/ours``'s, calibrated, within 1e-5. Guarded by
``tests/test_served.py``: ``test_each_step_equals_the_library_training_used`` (every step against
its library on real audio), ``test_the_served_model_is_our_model_calibrated``,
``test_the_cli_in_parallel_gives_what_it_gives_alone`` and ``test_mlflow_models_serve_answers_as_the_cli``.
"""
from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from types import ModuleType

import numpy as np

from emoser.audio.io import resample
from emoser.audio.recordings import sounding, windows
from emoser.audio.speech import VoiceActivity
from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.serving.no_speech import NoSpeech
from emoser.serving.silero import SpeechDetector
from emoser.serving.whisper_encoder import WhisperEncoder
from emoser.serving.whisper_encoder import statistics as whisper_statistics

FOLDER = paths.SERVED_MODEL      # stage package's output
ARRAYS = "arrays.npz"
FACTS = "model.json"
ADAPTED = "adapted."               # the adapted twin's arrays: adapted.<its own name>
SILERO = "silero"                  # the speech check's Silero VAD arrays: silero.<name>
# opensmile.FeatureSet's configuration files, relative to the package's config/ folder
SMILE_CONFIGS = {"ComParE_2016": "compare/ComParE_2016", "eGeMAPSv02": "egemaps/v02/eGeMAPSv02"}
ENCODER_RATE = 16000               # Resemblyzer's hparams: sampling_rate
MEL_FFT, MEL_HOP = 400, 160        # 25-ms windows every 10 ms
NORM_DBFS = -30.0                  # audio_norm_target_dBFS
VAD_WINDOW = 480                   # 30 ms at 16 kHz
VAD_AVERAGE = 8                    # vad_moving_average_width
VAD_MAX_SILENCE = 6                # vad_max_silence_length
INT16_MAX = 2 ** 15 - 1
MIN_VOICED_S = 0.25                # as emoser.features.voice_encoder: below this, the whole recording is used
WHISPER_HEADS = 8                  # Whisper base's attention heads
ENCODER_LAYERS = 3                 # the voice encoder's LSTM layers


def _smile_library() -> tuple[ModuleType, Path]:
    """openSMILE's ctypes wrapper (``opensmile/core/lib.py``), loaded without the package around it."""
    if "tensorflow" in sys.modules and "_emoser_smileapi" not in sys.modules:
        # As emoser.features.opensmile.extractor: openSMILE's library, loaded after TensorFlow's,
        # aborts the process on its first signal.
        raise EmoserError("openSMILE cannot start in a process that has already imported TensorFlow; "
                          "serve the model from its own process (as emoser predict does)")
    if "_emoser_smileapi" in sys.modules:
        module = sys.modules["_emoser_smileapi"]
        return module, Path(str(module.__file__)).parent / "config"
    spec = importlib.util.find_spec("opensmile")
    if spec is None or not spec.submodule_search_locations:
        raise EmoserError("the opensmile package is not installed (pip install opensmile)")
    core = Path(list(spec.submodule_search_locations)[0]) / "core"
    lib_spec = importlib.util.spec_from_file_location("_emoser_smileapi", core / "lib.py")
    assert lib_spec is not None and lib_spec.loader is not None
    module = importlib.util.module_from_spec(lib_spec)
    lib_spec.loader.exec_module(module)
    sys.modules["_emoser_smileapi"] = module
    return module, core / "config"


class Smile:
    """openSMILE functionals of one mono signal, as ``opensmile.Smile(feature_set, Functionals)``
    computes them."""

    def __init__(self, feature_set: str):
        if feature_set not in SMILE_CONFIGS:
            raise EmoserError(f"feature set {feature_set!r} is not served; known: {', '.join(SMILE_CONFIGS)}")
        self.lib, root = _smile_library()
        self.config = str(root / f"{SMILE_CONFIGS[feature_set]}.conf")
        self.options = {"sink": str(root / "shared/standard_external_data_output_single.conf.inc"),
                        "sinkLevel": "func",
                        "bufferModeRbConf": str(root / "shared/BufferModeRb.conf.inc"),
                        "frameModeFunctionalsConf": str(root / "shared/FrameModeFunctionals.conf.inc"),
                        "source": str(root / "shared/standard_external_wave_input.conf.inc")}

    def functionals(self, signal: np.ndarray, rate: int) -> np.ndarray:
        """(features,) float32; NaN when the signal is too short for any functional. A new openSMILE
        instance per signal, as ``opensmile.Smile`` makes (resetting one costs as much: ~30 ms)."""
        pcm = (np.asarray(signal, dtype=np.float32) * 32768).astype(np.int16)   # as Smile._extract
        rows: list[np.ndarray] = []
        smile = self.lib.OpenSMILE()
        smile.initialize(config_file=self.config, options={**self.options, "sampleRate": rate, "nBits": 16},
                         loglevel=2, debug=False)
        try:
            smile.external_sink_set_callback_ex("extsink", lambda data, meta: rows.append(data.copy()))
            smile.external_audio_source_write_data("extsource", pcm.tobytes())
            smile.external_audio_source_set_eoi("extsource")
            smile.run()
        finally:
            smile.free()
        if not rows:
            return np.full(self.size(), np.nan, dtype=np.float32)
        return np.asarray(rows[0], dtype=np.float32).reshape(-1)

    def size(self) -> int:
        smile = self.lib.OpenSMILE()
        smile.initialize(config_file=self.config, options=self.options, loglevel=2, debug=False)
        try:
            return int(smile.external_sink_get_num_elements("extsink"))
        finally:
            smile.free()


def normalise_volume(wav: np.ndarray) -> np.ndarray:
    """Resemblyzer's ``normalize_volume(wav, -30, increase_only=True)``; silence (level 0, which
    Resemblyzer turns into NaN) left as it is, as ``emoser.features.voice_encoder.prepare`` leaves it."""
    rms = np.sqrt(np.mean((wav * INT16_MAX) ** 2))
    if rms == 0:
        return wav
    change = NORM_DBFS - 20 * np.log10(rms / INT16_MAX)
    return wav if change < 0 else wav * (10 ** (change / 20))


def trim_long_silences(wav: np.ndarray) -> np.ndarray:
    """Resemblyzer's ``trim_long_silences``: windows the VAD calls silence, beyond 6 in a row, cut.
    A new detector each time, as there: it keeps state from one window to the next."""
    vad = VoiceActivity(3)
    wav = wav[:len(wav) - len(wav) % VAD_WINDOW]
    pcm = np.round(wav * INT16_MAX).astype(np.int16)
    flags = np.array([vad.is_speech(pcm[s:s + VAD_WINDOW], ENCODER_RATE) for s in range(0, len(wav), VAD_WINDOW)],
                     dtype=float)
    padded = np.concatenate((np.zeros((VAD_AVERAGE - 1) // 2), flags, np.zeros(VAD_AVERAGE // 2)))
    sums = np.cumsum(padded, dtype=float)
    sums[VAD_AVERAGE:] = sums[VAD_AVERAGE:] - sums[:-VAD_AVERAGE]
    voiced = np.round(sums[VAD_AVERAGE - 1:] / VAD_AVERAGE).astype(bool)
    # binary dilation by VAD_MAX_SILENCE + 1 (odd: centred) windows, zeros beyond the ends
    half = VAD_MAX_SILENCE // 2
    kept = np.lib.stride_tricks.sliding_window_view(np.pad(voiced, half), 2 * half + 1).any(axis=1)
    return wav[np.repeat(kept, VAD_WINDOW)]


def encoder_input(signal: np.ndarray, rate: int) -> np.ndarray:
    """``emoser.features.voice_encoder.prepare``: 16-kHz, volume-normalised, long silences cut; the whole
    recording when less than ``MIN_VOICED_S`` is left."""
    whole = resample(signal, rate, ENCODER_RATE)
    voiced = trim_long_silences(normalise_volume(whole))
    return voiced if len(voiced) >= MIN_VOICED_S * ENCODER_RATE else normalise_volume(whole)


def mel_power(wav: np.ndarray, window: np.ndarray, mel_basis: np.ndarray) -> np.ndarray:
    """(frames, mels) float32, as ``librosa.feature.melspectrogram(y=wav, sr=16000, n_fft=400,
    hop_length=160, n_mels=40)`` (centred frames, zero padding, power 2)."""
    padded = np.pad(wav, MEL_FFT // 2)
    count = 1 + (len(padded) - MEL_FFT) // MEL_HOP
    frames = np.lib.stride_tricks.as_strided(padded, (MEL_FFT, count), (padded.strides[0], MEL_HOP * padded.strides[0]))
    spectrum = np.fft.rfft(window[:, None] * frames, axis=0).astype(np.complex64)
    power = np.abs(spectrum) ** 2
    return np.einsum("ft,mf->mt", power, mel_basis, optimize=True).astype(np.float32).T


def lstm_statistics(mel: np.ndarray, layers: list[tuple[np.ndarray, ...]]) -> np.ndarray:
    """Mean and standard deviation over frames of the last of ``layers`` (PyTorch's LSTM: gates
    input, forget, cell, output): (2 * units,) float32."""
    x = mel.astype(np.float32)
    for w_ih, w_hh, b_ih, b_hh in layers:
        units = w_hh.shape[1]
        inputs = x @ w_ih.T + (b_ih + b_hh)
        recurrent = np.ascontiguousarray(w_hh.T)    # h @ W_hh.T, row-major
        h = np.zeros(units, dtype=np.float32)
        c = np.zeros(units, dtype=np.float32)
        out = np.empty((len(x), units), dtype=np.float32)
        with np.errstate(over="ignore"):     # exp(-v) -> inf for very negative v: sigmoid 0
            for t in range(len(x)):
                gates = inputs[t] + h @ recurrent
                sig = 1 / (1 + np.exp(-gates))
                c = sig[units:2 * units] * c + sig[:units] * np.tanh(gates[2 * units:3 * units])
                h = sig[3 * units:] * np.tanh(c)
                out[t] = h
        x = out
    return np.concatenate([x.mean(axis=0), x.std(axis=0)]).astype(np.float32)


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def calibrated(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature scaling of probabilities: p_i ** (1 / T), renormalised (T < 1 sharpens)."""
    with np.errstate(divide="ignore"):
        logs = np.log(probabilities)
    return softmax(logs / temperature)


class ServedView:
    """One view of a recording as the served model computes it (numpy only) and as stage package packs
    it: a subclass per view, in ``SERVED_VIEWS`` under its name in ``ours.fusion.views`` (its training
    side: ``emoser.features.views.VIEWS``). ``prefix`` names its model's arrays; ``ensemble``: that
    model is a feature-count ensemble (``<prefix>.keep``, ``.mean``, ``.scale``, ``.member<m>.…``),
    else one standardised logistic regression (``<prefix>.mean``, ``.scale``, ``.weights``, …)."""
    name: str
    prefix: str
    ensemble: bool = False

    def __init__(self, arrays: dict[str, np.ndarray], facts: dict):
        self.a, self.facts = arrays, facts

    @staticmethod
    def pretrained_arrays(facts: dict) -> dict[str, np.ndarray]:
        """What the view computes with beyond its fitted model (an encoder's weights), packed by stage
        package; it may import the training libraries (only stage package calls it)."""
        return {}

    def features(self, part: np.ndarray, rate: int) -> np.ndarray:
        """One window's features, as the view's stage computes them."""
        raise NotImplementedError


SERVED_VIEWS: dict[str, type[ServedView]] = {}


def served_view(cls: type[ServedView]) -> type[ServedView]:
    """Register a served view under its name."""
    SERVED_VIEWS[cls.name] = cls
    return cls


@served_view
class CompareView(ServedView):
    name, prefix, ensemble = "compare", "smile", True

    def __init__(self, arrays: dict[str, np.ndarray], facts: dict):
        super().__init__(arrays, facts)
        self.smile = Smile(facts["feature_set"])

    def features(self, part: np.ndarray, rate: int) -> np.ndarray:
        return self.smile.functionals(part, rate)


@served_view
class VoiceView(ServedView):
    name, prefix = "voice", "voice"

    def __init__(self, arrays: dict[str, np.ndarray], facts: dict):
        super().__init__(arrays, facts)
        names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        self.layers = [tuple(arrays[f"encoder.{name}_l{k}"] for name in names) for k in range(facts["encoder_layers"])]

    @staticmethod
    def pretrained_arrays(facts: dict) -> dict[str, np.ndarray]:
        """Resemblyzer's LSTM weights, and the window and mel filters of its input (as librosa makes them)."""
        from emoser.features.voice_encoder import load_encoder

        encoder = load_encoder()   # first: it imports Resemblyzer with webrtcvad's pkg_resources warning silenced
        import librosa
        from resemblyzer.hparams import mel_n_channels, sampling_rate

        state = encoder.lstm.state_dict()
        arrays = {f"encoder.{name}": tensor.numpy().copy() for name, tensor in state.items()}
        assert len(arrays) == 4 * ENCODER_LAYERS, sorted(arrays)
        arrays["encoder.window"] = librosa.filters.get_window("hann", MEL_FFT, fftbins=True)
        arrays["encoder.mel_basis"] = librosa.filters.mel(sr=sampling_rate, n_fft=MEL_FFT, n_mels=mel_n_channels)
        return arrays

    def features(self, part: np.ndarray, rate: int) -> np.ndarray:
        return lstm_statistics(mel_power(encoder_input(part, rate), self.a["encoder.window"],
                                         self.a["encoder.mel_basis"]), self.layers)


@served_view
class WhisperView(ServedView):
    name, prefix = "whisper", "whisper_model"

    def __init__(self, arrays: dict[str, np.ndarray], facts: dict):
        super().__init__(arrays, facts)
        self.encoder = WhisperEncoder(arrays, WHISPER_HEADS)

    @staticmethod
    def pretrained_arrays(facts: dict) -> dict[str, np.ndarray]:
        """Whisper's encoder up to the last layer read (its final norm only if that is the encoder's
        last), float16 as shipped; the periodic Hann window and Whisper's mel filters."""
        import librosa

        from emoser.features.whisper import N_FFT, mel_filters, read_ctranslate2
        from emoser.features.whisper_weights import model_dir
        from emoser.params.whisper import ENCODER_LAYERS as WHISPER_LAYERS
        from emoser.serving.whisper_encoder import PREFIX

        last = max(facts["params"]["whisper_layers"])
        kept = {}
        for name, value in read_ctranslate2(model_dir() / "model.bin", as_float32=False).items():
            block = name.split("/")[0].removeprefix("layer_")
            if block.isdigit() and int(block) > last:
                continue
            if name.startswith("layer_norm/") and last != WHISPER_LAYERS - 1:
                continue
            kept[PREFIX + name] = value
        kept[PREFIX + "window"] = librosa.filters.get_window("hann", N_FFT, fftbins=True).astype(np.float32)
        kept[PREFIX + "mel_filters"] = mel_filters()
        return kept

    def features(self, part: np.ndarray, rate: int) -> np.ndarray:
        whisper = self.facts["whisper"]
        return whisper_statistics(self.encoder, part, rate, self.a["whisper.window"], self.a["whisper.mel_filters"],
                                  whisper["window_s"], self.facts["params"]["whisper_layers"], whisper["pooling"])


@dataclass(frozen=True)
class Limits:
    """What one request to the served MLflow model may hold (params ``mlflow.serve``, written by stage
    package; a model packaged before limits existed gets these, the defaults params.yaml ships)."""
    max_rows: int = 64
    max_recording_mb: float = 25.0
    max_seconds: float = 600.0


class ServedModel:
    """Our model from ``models/served``: (signal, rate) -> calibrated class probabilities."""

    def __init__(self, folder: Path):
        if not (folder / ARRAYS).is_file() or not (folder / FACTS).is_file():
            raise EmoserError(f"{folder}: no served model here (run `dvc repro package`)")
        with np.load(folder / ARRAYS, allow_pickle=False) as data:
            self._build({key: data[key] for key in data.files}, json.loads((folder / FACTS).read_text()))

    def _build(self, arrays: dict[str, np.ndarray], facts: dict) -> None:
        self.a, self.facts = arrays, facts
        self.emotions: list[str] = self.facts["emotions"]
        self.limits = Limits(**self.facts.get("limits", {}))
        self.temperature = float(self.facts["temperature"])
        # a view weighted 0 adds nothing: it is not computed
        self.weights: dict[str, float] = {v: w for v, w in self.facts["weights"].items() if w > 0}
        unknown = sorted(set(self.weights) - set(SERVED_VIEWS))
        if unknown:
            raise EmoserError(f"the served model: no served view {unknown} (known: {', '.join(SERVED_VIEWS)})")
        self.views = {v: SERVED_VIEWS[v](self.a, self.facts) for v in self.weights}
        # the speech check's Whisper (CTranslate2), loaded at its first use; its input as the view's
        self.no_speech = NoSpeech(self.a.get("whisper.window"), self.a.get("whisper.mel_filters"))
        # and its Silero VAD (numpy; a model packaged before it had none: that detector is off)
        silero = {k.removeprefix(SILERO + "."): v for k, v in self.a.items() if k.startswith(SILERO + ".")}
        self.speech = SpeechDetector(silero) if silero else None

    def _part(self, prefix: str, X: np.ndarray) -> np.ndarray:
        """One logistic regression (its PCA rotation folded into its weights at export), softmax;
        columns = all emotions."""
        p = softmax(X @ self.a[f"{prefix}.weights"] + self.a[f"{prefix}.bias"])
        out = np.zeros((len(X), len(self.emotions)))
        out[:, self.a[f"{prefix}.classes"]] = p
        return out

    def view_probabilities(self, view: str, X: np.ndarray) -> np.ndarray:
        """(rows, emotions): one view's model, as ``FusionModel.predict_proba`` computes it."""
        a, served = self.a, SERVED_VIEWS[view]
        p = served.prefix
        if served.ensemble:
            Z = (X[:, a[f"{p}.keep"]].astype(np.float64) - a[f"{p}.mean"]) / a[f"{p}.scale"]
            return np.mean([self._part(f"{p}.member{m}", Z[:, a[f"{p}.member{m}.columns"]])
                            for m in range(self.facts["members"])], axis=0)
        return self._part(p, (X.astype(np.float64) - a[f"{p}.mean"]) / a[f"{p}.scale"])

    def raw_probabilities(self, views: dict[str, np.ndarray]) -> np.ndarray:
        """(rows, emotions): the fusion before calibration, as ``FusionModel.predict_proba``."""
        return np.sum([w * self.view_probabilities(v, views[v]) for v, w in self.weights.items()], axis=0)

    def features(self, signal: np.ndarray, rate: int, path: Path | str = "recording") -> dict[str, np.ndarray]:
        """Each view's features of each window: {view: (windows, d)}."""
        parts = sounding(windows(signal, int(self.facts["window_s"] * rate), 0))
        views = {v: np.stack([served.features(part, rate) for part in parts]) for v, served in self.views.items()}
        check_finite(views, signal, rate, path)
        return views

    def predict_signal(self, signal: np.ndarray, rate: int, path: Path | str = "recording") -> np.ndarray:
        """(emotions,) calibrated probabilities, averaged over windows as long as the longest training recording."""
        raw = self.raw_probabilities(self.features(signal, rate, path)).mean(axis=0, keepdims=True)
        return calibrated(raw, self.temperature)[0]

    @cached_property
    def adapted(self) -> ServedModel | None:
        """The twin trained on each corpus's features z-scored over its own recordings (stage fit's
        models/ours/adapted), sharing the encoders' arrays; None in a model packaged without it."""
        if "adapted" not in self.facts:
            return None
        twin = object.__new__(ServedModel)
        own = {k.removeprefix(ADAPTED): v for k, v in self.a.items() if k.startswith(ADAPTED)}
        twin._build({**{k: v for k, v in self.a.items() if not k.startswith(ADAPTED)}, **own},
                    {**self.facts, **self.facts["adapted"]})
        return twin

    def adapted_probabilities(self, batch: list[dict[str, np.ndarray]], groups: Sequence[str] | None = None
                              ) -> list[np.ndarray]:
        """Calibrated probabilities of each recording of a batch from one set-up (each item: the twin's
        ``features`` of one recording, {view: (windows, d)}): every view z-scored over all the batch's
        windows, as each training corpus was over its own recordings, then the twin's fusion. With
        ``groups`` (one per item: its speaker), each group's items are z-scored over that group's windows
        instead (per-speaker standardisation through the same twin: ``emoser.serving.adaptation``)."""
        twin = self.adapted
        if twin is None:
            raise EmoserError("this served model has no adapted twin (package it again: dvc repro package)")
        keys = list(groups) if groups is not None else [""] * len(batch)
        stats: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        for group in dict.fromkeys(keys):
            members = [item for item, key in zip(batch, keys) if key == group]
            for view in twin.weights:
                stacked = np.concatenate([item[view] for item in members]).astype(np.float64)
                scale = stacked.std(axis=0)
                stats[group, view] = (stacked.mean(axis=0), np.where(scale > 0, scale, 1.0))
        out = []
        for item, group in zip(batch, keys):
            z = {v: (item[v] - stats[group, v][0]) / stats[group, v][1] for v in twin.weights}
            out.append(calibrated(twin.raw_probabilities(z).mean(axis=0, keepdims=True), twin.temperature)[0])
        return out


def check_finite(views: dict[str, np.ndarray], signal: np.ndarray, rate: int, path: Path | str) -> None:
    """Features that are not finite are one error naming the file and the view (openSMILE's
    functionals are NaN for a recording too short for any)."""
    for name, values in views.items():
        if not np.isfinite(values).all():
            raise EmoserError(f"{path}: too short for the {name} view's features ({len(signal) / rate:.2f} s)")
