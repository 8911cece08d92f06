"""Is there speech to judge? Seconds of voiced speech in a recording (predict refuses to classify
what has too little).

A 30-ms frame counts when WebRTC's voice-activity detector calls it speech **and** its spectrum is
not flat **and** it is not near-silent for this recording:

- *Not flat.* The detector alone calls white noise speech (a 2-s burst: 1.98 s "speech"); voiced
  speech concentrates its energy in harmonics. Spectral flatness is measured over 100–3400 Hz, the
  telephone band that every recording at 8 kHz or more holds: over the whole 0–8 kHz of the 16-kHz
  frames, a recording's empty top band (8- or 11-kHz audio, or a resampler's roll-off) made white
  noise look tonal (8-kHz white noise gave 1.98 s). White noise's frames: flatness 0.41–0.58 at any
  rate; ``FLAT`` is 0.25.
- *Level relative to the recording.* The detector has fixed energy thresholds, tuned for speech at
  telephone level, so quiet speakers went unheard. The recording is scaled so that its loudest
  tonal frame (not flat, above ``FLOOR_DBFS``) is at ``TARGET_DBFS`` before the detector sees it,
  and frames more than ``RANGE_DB`` below that frame are silence (the former absolute -60 dBFS
  floor, now relative). ``FLOOR_DBFS`` (-80 dBFS, ~3 LSB rms in 16-bit audio) stays absolute: ±1-LSB
  dither (-92 dBFS) is never amplified into "speech".
- *The detector hears the whole recording.* It adapts to the background; it is given every frame in
  order (it used to see only the frames that passed the other two tests, which starved that).

Measured, the former check → this one (RAVDESS: the 1440 speech files of ../shared/ravdess, 16 kHz,
loudest tonal frame -54.5 to -3.3 dBFS; Emo-DB: all 535 files, 22.05 kHz):

- RAVDESS refused 203 → 0 (102 of them among its 1056 non-calm, non-surprise files); minimum
  voiced 0.00 → 1.05 s (1st percentile 1.14 s, median 1.59 s).
- Emo-DB refused 0 → 0; minimum 0.96 → 0.66 s (08b02Tc, sad and breathy), median 1.83 → 1.53 s:
  over 0–8 kHz the empty 7.3–8 kHz band of resampled 22.05-kHz audio made noisy frames look tonal.
- Each change alone on RAVDESS: the 100–3400 Hz band, 252 refused; with the detector on every
  frame, 69; with the scaling instead, 0 (minimum 0.69 s; with the old -60 dBFS floor, 0.30 s).
- Stay refused (maximum voiced over 8, 11.025, 16, 22.05, 44.1, 48 kHz): white noise at -30…-6
  dBFS, 2 s, 0.00 s (before: 1.98 s at 8 kHz); uniform noise 0.00 s (before 1.95 s); ±1-LSB dither
  and silence 0.00 s; isolated clicks (8 impulses over 2 s of silence) 0.12 s at 8 kHz, 0.03 s at
  11.025 kHz, 0.00 s above (before: 0.30 s at 8 kHz); 0.1-s cuts of real speech 0.09 s (3 frames;
  476 cuts of RAVDESS and Emo-DB files).
- Time: ~1.4 ms a RAVDESS file (3–5 s at 16 kHz), ~1.7 ms an Emo-DB file (resampled); before,
  ~1.2 and ~1.7 ms.

Known limits: a pure tone or mains hum is tonal and the detector calls it speech (as before); so
can strongly low-pass noise (brown noise: 0.09 s of a 2-s sample here) and a dense click train at
8 kHz (20 a second: 0.81 s).
"""
from __future__ import annotations

import numpy as np

from emoser.audio.io import resample

RATE = 16000               # WebRTC VAD works at 8/16/32/48 kHz
FRAME = 480                # 30 ms at 16 kHz
AGGRESSIVENESS = 3         # 0..3: 3 rejects the most non-speech
BAND_HZ = (100.0, 3400.0)  # flatness is measured here: the telephone band, held by any rate >= 8 kHz
FLAT = 0.25                # spectral flatness above this: noise-like, not voiced
TARGET_DBFS = -20.0        # the loudest tonal frame is brought to this level before the detector
RANGE_DB = 40.0            # frames this far below the loudest tonal frame are silence
FLOOR_DBFS = -80.0         # frames quieter than this are silence whatever the recording
DEFAULT_MIN_SPEECH_S = 0.3  # RAVDESS has at least 1.05 s voiced per recording, Emo-DB 0.66 s (docs/predict.md)

_BAND = (np.fft.rfftfreq(FRAME, 1 / RATE) >= BAND_HZ[0]) & (np.fft.rfftfreq(FRAME, 1 / RATE) <= BAND_HZ[1])
_WINDOW = np.hanning(FRAME)


class VoiceActivity:
    """WebRTC's voice-activity detector, as ``webrtcvad.Vad(mode)``: its C extension used directly,
    because the ``webrtcvad`` module imports the deprecated ``pkg_resources`` (~0.25 s, a warning)
    only to read its own version."""

    def __init__(self, mode: int):
        import _webrtcvad

        self._process = _webrtcvad.process
        self._vad = _webrtcvad.create()
        _webrtcvad.init(self._vad)
        _webrtcvad.set_mode(self._vad, mode)

    def is_speech(self, pcm: np.ndarray, rate: int) -> bool:
        """Is this 10, 20 or 30 ms of 16-bit audio speech?"""
        return bool(self._process(self._vad, rate, pcm.astype(np.int16).tobytes(), len(pcm)))


def _frames(signal: np.ndarray, rate: int) -> np.ndarray:
    x = resample(signal, rate, RATE)
    n = len(x) // FRAME
    return np.clip(x[:n * FRAME], -1, 1).reshape(n, FRAME)


def voiced_frames(signal: np.ndarray, rate: int) -> np.ndarray:
    """Per 30-ms frame (``FRAME`` samples at 16 kHz, from the start): is it speech to WebRTC's VAD
    (hearing the recording scaled to a common level), not noise-flat and not near-silent for this
    recording?"""
    frames = _frames(np.asarray(signal, dtype=np.float32), rate)
    if not len(frames):
        return np.zeros(0, dtype=bool)
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)[:, _BAND]) ** 2 + 1e-20
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    tonal = (flatness <= FLAT) & (level >= FLOOR_DBFS)
    if not tonal.any():
        return np.zeros(len(frames), dtype=bool)
    loudest = level[tonal].max()
    candidate = tonal & (level >= loudest - RANGE_DB)
    pcm = (np.clip(frames * 10 ** ((TARGET_DBFS - loudest) / 20), -1, 1) * 32767).astype(np.int16)
    vad = VoiceActivity(AGGRESSIVENESS)
    speech = np.array([vad.is_speech(f, RATE) for f in pcm])  # every frame, in order: it adapts
    return speech & candidate


def voiced_seconds(signal: np.ndarray, rate: int) -> float:
    """Seconds of ``voiced_frames``."""
    return float(np.sum(voiced_frames(signal, rate)) * FRAME / RATE)


def voiced_segments(signal: np.ndarray, rate: int, max_gap_s: float = 0.3, min_s: float = 0.5,
                    max_s: float = 4.0, margin_s: float = 0.1) -> list[tuple[float, float]]:
    """(start, end) seconds of the stretches of speech in a long recording: voiced frames joined
    across pauses up to ``max_gap_s``, widened by ``margin_s`` each side (within the recording),
    those shorter than ``min_s`` dropped, those longer than ``max_s`` cut into equal parts."""
    voiced = voiced_frames(signal, rate)
    step, duration = FRAME / RATE, len(signal) / rate
    segments: list[list[float]] = []
    for i in np.flatnonzero(voiced):
        start, end = float(i * step), float((i + 1) * step)
        if segments and start - segments[-1][1] <= max_gap_s:
            segments[-1][1] = end
        else:
            segments.append([start, end])
    out = []
    for first, last in segments:
        first, last = max(0.0, first - margin_s), min(duration, last + margin_s)
        if last - first < min_s:
            continue
        parts = int(np.ceil((last - first) / max_s))
        edges = np.linspace(first, last, parts + 1)
        out += [(round(float(a), 2), round(float(b), 2)) for a, b in zip(edges[:-1], edges[1:])]
    return out
