"""Rows per recording: the emotion a model hears, or why it gives none; and, for a long recording,
one row per stretch of speech (``emoser predict`` and the served MLflow model share it).

Before classifying, the speech check: is there speech in it, in any language? Three detectors, none
enough alone. Silero VAD (``emoser.serving.silero``) hears speech in every recording of Emo-DB, RAVDESS
and nEMO but a few shouted RAVDESS ones, and in real conversational speech that Whisper doubts; it
hears none in tones, hum, chords, clicks, noise or dither. The voice-activity check
(``emoser.audio.speech``: voiced seconds) and Whisper's no-speech probability
(``emoser.serving.no_speech``) together accept every recording of the three corpora, but Whisper
refuses some conversational speech. So a recording is speech when Silero hears at least
``min_speech`` seconds, or else when the voice-activity check finds ``min_speech`` voiced seconds
and Whisper's no-speech probability is below ``max_no_speech`` (Whisper runs only then: it costs
the most). A recording longer than ``segment_over_s`` is answered per voiced segment
(``voiced_segments``: its ``start`` and ``end`` in seconds, each checked and classified alone) and
by a whole-file row, whose probabilities are the segments', averaged by their duration.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emoser.audio.recordings import without_constant_ends
from emoser.audio.speech import DEFAULT_MIN_SPEECH_S, voiced_seconds, voiced_segments
from emoser.core.errors import EmoserError

DEFAULT_SEGMENT_OVER_S = 10.0
DEFAULT_MAX_NO_SPEECH = 0.68     # speech measured <= 0.66, non-speech >= 0.70: docs/predict.md


@dataclass(frozen=True)
class Screening:
    """What a recording must show to be classified, and when it is answered per segment."""
    min_speech: float = DEFAULT_MIN_SPEECH_S            # voiced seconds needed (0: always)
    max_no_speech: float = DEFAULT_MAX_NO_SPEECH        # Whisper's no-speech probability refused (1: never)
    segment_over_s: float = DEFAULT_SEGMENT_OVER_S      # longer recordings: per segment too (0: never)
    no_speech: Callable[[np.ndarray, int], float] | None = None   # None: that check is off
    speech: Callable[[np.ndarray, int], float] | None = None      # Silero's speech seconds; None: off


def _row(name: str, model: str, emotions: list[str], start=None, end=None) -> dict:
    return {"file": name, "model": model, "start": start, "end": end, "emotion": None, "speech_s": None,
            "voiced_s": None, "no_speech": None, **dict.fromkeys(emotions, np.nan), "note": None}


def error_row(name: str, model: str, emotions: list[str], message: str) -> dict:
    """A recording's one row when it gets no answer: no emotion, no probabilities, the reason."""
    return {**_row(name, model, emotions), "note": f"error: {message}"}


def _judge(row: dict, signal: np.ndarray, rate: int, predict, name: str, emotions: list[str],
           screening: Screening) -> np.ndarray | None:
    """Fill ``row`` for one stretch of audio; its probabilities, or None when it holds no speech.
    Digital silence (or a constant level) at either end is padding: left out, so that it changes
    nothing. Probabilities that are not finite are an error, never an answer."""
    signal = without_constant_ends(signal)
    if not _is_speech(row, signal, rate, screening, constant=len(signal) == 0 or np.ptp(signal) == 0):
        return None
    probabilities = np.asarray(predict(signal, rate, name), dtype=float)
    if not np.isfinite(probabilities).all():
        raise EmoserError(f"{name}: the model gave no finite probabilities for this audio (please report it)")
    row.update(zip(emotions, map(float, probabilities)))
    row["emotion"] = emotions[int(np.argmax(probabilities))]
    return probabilities


def _is_speech(row: dict, signal: np.ndarray, rate: int, screening: Screening, constant: bool) -> bool:
    """The speech check (module docstring), its measures in ``row``, and why not in its note;
    ``constant``: every sample the same (refused even with ``min_speech`` 0: nothing to hear)."""
    row["voiced_s"] = round(voiced_seconds(signal, rate), 2)
    if screening.speech is not None:
        row["speech_s"] = round(screening.speech(signal, rate), 2)
        if row["speech_s"] >= screening.min_speech and not constant:
            return True
    heard = "" if screening.speech is None else f"Silero VAD {row['speech_s']:.2f} s, "
    if row["voiced_s"] < screening.min_speech:
        row["note"] = f"no speech found ({heard}{row['voiced_s']:.2f} s voiced, {screening.min_speech:g} s needed)"
        return False
    if constant:
        row["note"] = "no speech found (every sample is the same: digital silence or a constant)"
        return False
    if screening.no_speech is not None and screening.max_no_speech < 1:
        row["no_speech"] = round(screening.no_speech(signal, rate), 3)
        if row["no_speech"] >= screening.max_no_speech:
            row["note"] = (f"no speech found ({heard}Whisper's no-speech probability {row['no_speech']:.2f}, "
                           f"refused from {screening.max_no_speech:g})")
            return False
    return True


def classify_recording(name: str, read: Callable[[], tuple[np.ndarray, int]], predict, emotions: list[str],
                       model: str, screening: Screening = Screening()) -> tuple[list[dict], str | None]:
    """A recording's rows (``read`` gives its signal and rate): first the whole recording's, then one
    per voiced segment when it is longer than ``screening.segment_over_s``; and its error, if any.
    For files and for the served model's requests alike."""
    whole = _row(name, model, emotions)
    try:
        signal, rate = read()
        duration = len(signal) / rate
        if not screening.segment_over_s or duration <= screening.segment_over_s:
            _judge(whole, signal, rate, predict, name, emotions, screening)
            return [whole], None
        whole["voiced_s"] = round(voiced_seconds(signal, rate), 2)
        if screening.speech is not None:
            whole["speech_s"] = round(screening.speech(signal, rate), 2)
        rows, weighted = [whole], []
        for start, end in voiced_segments(signal, rate):
            part = _row(name, model, emotions, start, end)
            p = _judge(part, signal[int(start * rate):int(end * rate)], rate, predict, name, emotions, screening)
            if p is not None:
                weighted.append((end - start) * p)
            rows.append(part)
        if weighted:
            mean = np.sum(weighted, axis=0) / np.sum(weighted, axis=0).sum()
            whole.update(zip(emotions, map(float, mean)))
            whole["emotion"] = emotions[int(np.argmax(mean))]
            whole["note"] = (f"{len(weighted)} of {len(rows) - 1} voiced segments classified "
                             f"(their probabilities averaged by duration)")
        else:
            whole["note"] = f"no speech found in {len(rows) - 1} voiced segments of {duration:.1f} s"
        return rows, None
    except EmoserError as exc:
        whole["note"] = f"error: {str(exc).removeprefix(f'{name}: ')}"
        return [whole], str(exc)


def plain(value):
    """A row's value for JSON: a float that is not finite is null (strict parsers refuse NaN)."""
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
