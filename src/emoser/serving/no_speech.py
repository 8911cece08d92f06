"""Is it speech at all? Whisper base's no-speech probability of a recording (predict and the served
model refuse what Whisper hears as no speech).

Whisper was trained to answer ``<|nospeech|>`` right after ``<|startoftranscript|>`` for audio with
no speech in it; CTranslate2 (``Whisper.generate(..., return_no_speech_prob=True)``) returns that
token's probability after one decoder step. The recording (its first 30 s) is zero-padded to
``WINDOW_S`` seconds: with 4-s windows the decoder was unsure of real speech (RAVDESS median 0.48,
the largest 0.74, above a chord's 0.70), with 8 s it separates (docs/predict.md has the figures on
every Emo-DB and RAVDESS recording and on tonal and noise signals), and 30 s costs ~4x the time.

The voice-activity check (``emoser.audio.speech``) stays: it is cheap and answers first. This one
catches what it lets through, tonal sounds that are not speech (a chord, a tone, hum).
"""
from __future__ import annotations

import os

import numpy as np

from emoser.audio.io import resample
from emoser.features.whisper_weights import model_dir

WINDOW_S = 8.0
# the probability is read after the first token; the others as Whisper's transcription starts
PROMPT = [["<|startoftranscript|>", "<|en|>", "<|transcribe|>", "<|notimestamps|>"]]


class NoSpeech:
    """Whisper base in CTranslate2 (its weights checked: ``emoser.features.whisper_weights``), loaded
    at the first call in each process (a forked worker loads its own). The log-mel input uses the
    served model's stored window and mel filters when given (no librosa import), else librosa's."""

    def __init__(self, window: np.ndarray | None = None, filters: np.ndarray | None = None,
                 threads: int | None = None):
        self.window, self.filters, self.threads = window, filters, threads
        self._model = None
        self._pid = -1

    def _log_mel(self, wav: np.ndarray) -> np.ndarray:
        if self.window is None or self.filters is None:
            from emoser.features.whisper import log_mel

            return log_mel(wav)
        from emoser.serving.whisper_encoder import log_mel as served_log_mel

        return served_log_mel(wav, self.window, self.filters)

    def _whisper(self):
        if self._model is None or self._pid != os.getpid():
            import ctranslate2

            threads = self.threads or min(4, len(os.sched_getaffinity(0)))
            self._model = ctranslate2.models.Whisper(str(model_dir()), device="cpu", compute_type="float32",
                                                     intra_threads=threads)
            self._pid = os.getpid()
        return self._model

    def __call__(self, signal: np.ndarray, rate: int) -> float:
        """The probability (0-1) that ``signal`` at ``rate`` holds no speech, to Whisper."""
        import ctranslate2

        from emoser.serving.whisper_encoder import MAX_WINDOW_S, SAMPLE_RATE

        wav = resample(np.asarray(signal, dtype=np.float32), rate, SAMPLE_RATE)[: int(MAX_WINDOW_S * SAMPLE_RATE)]
        wav = np.pad(wav, (0, max(0, int(WINDOW_S * SAMPLE_RATE) - len(wav))))
        features = ctranslate2.StorageView.from_array(self._log_mel(wav)[None])
        result = self._whisper().generate(features, PROMPT, max_length=1, beam_size=1, return_no_speech_prob=True)
        return float(result[0].no_speech_prob)
