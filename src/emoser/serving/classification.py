"""One row per recording: the emotion a model hears, or why it gives none (``emoser predict`` and
the served MLflow model share it)."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emoser.audio.speech import voiced_seconds
from emoser.core.errors import EmoserError


def classify_recording(name: str, read: Callable[[], tuple[np.ndarray, int]], predict, emotions: list[str],
                       model: str, min_speech: float) -> tuple[dict, str | None]:
    """A recording's row (``read`` gives its signal and rate): the emotion and its probabilities, or
    why there is none; and its error, if any. For files and for the served model's requests alike."""
    row: dict = {"file": name, "model": model, "emotion": None, "voiced_s": None, "note": None,
                 **dict.fromkeys(emotions, np.nan)}
    try:
        signal, rate = read()
        row["voiced_s"] = round(voiced_seconds(signal, rate), 2)
        if row["voiced_s"] < min_speech:
            row["note"] = f"no speech found ({row['voiced_s']:.2f} s voiced, {min_speech:g} s needed)"
        else:
            probabilities = predict(signal, rate, name)
            row.update(zip(emotions, map(float, probabilities)))
            row["emotion"] = emotions[int(np.argmax(probabilities))]
    except EmoserError as exc:
        row["note"] = f"error: {str(exc).removeprefix(f'{name}: ')}"
        return row, str(exc)
    return row, None
