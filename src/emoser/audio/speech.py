"""Is there speech to judge? Seconds of voiced speech in a recording (predict refuses to classify
what has too little).

A 30-ms frame counts when WebRTC's voice-activity detector calls it speech **and** its spectrum is
not flat: the detector alone calls white noise speech (measured: a 2-s burst of white noise gives
1.98 s "speech"), while voiced speech concentrates its energy in harmonics (spectral flatness
well under ``FLAT``; white noise is near 0.5). Dither-level signals are below ``FLOOR_DBFS``.
Known limit: strongly low-pass noise (brown noise) is not flat and can pass.
"""
from __future__ import annotations

import numpy as np

from emoser.audio.io import resample

RATE = 16000               # WebRTC VAD works at 8/16/32/48 kHz
FRAME = 480                # 30 ms at 16 kHz
AGGRESSIVENESS = 3         # 0..3: 3 rejects the most non-speech
FLAT = 0.25                # spectral flatness above this: noise-like, not voiced
FLOOR_DBFS = -60.0         # frames quieter than this are silence whatever the detector says
DEFAULT_MIN_SPEECH_S = 0.3  # every Emo-DB recording has at least 0.96 s voiced (docs/predict.md)


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


def voiced_seconds(signal: np.ndarray, rate: int) -> float:
    """Seconds of 30-ms frames that are speech to WebRTC's VAD, not noise-flat and not near-silent."""
    frames = _frames(np.asarray(signal, dtype=np.float32), rate)
    if not len(frames):
        return 0.0
    vad = VoiceActivity(AGGRESSIVENESS)
    power = np.abs(np.fft.rfft(frames * np.hanning(FRAME), axis=1)) ** 2 + 1e-20
    flatness = np.exp(np.mean(np.log(power), axis=1)) / np.mean(power, axis=1)
    level = 10 * np.log10(np.mean(frames ** 2, axis=1) + 1e-20)
    pcm = (frames * 32767).astype(np.int16)
    voiced = [bool(flat <= FLAT and db >= FLOOR_DBFS and vad.is_speech(f, RATE))
              for f, flat, db in zip(pcm, flatness, level)]
    return float(np.sum(voiced) * FRAME / RATE)
