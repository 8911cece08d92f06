"""A batch of recordings from one set-up, answered by the adapted twin (``emoser predict --adapt``).

Across corpora our model is near chance as it is; z-scoring each corpus's features over its own
recordings lifts it (stage loco, ``+corpstd``: README). A user's batch from one set-up (one
microphone, room, language) is such a corpus: the twin stage fit trained on corpus-standardised
features (models/ours/adapted, packaged beside the model) answers each recording from its features
z-scored over the whole batch (``ServedModel.adapted_probabilities``). It uses the batch's
unlabelled audio only, and assumes what per-corpus statistics assume: a batch that spans the
emotions (a batch of one emotion is standardised away). Below ``minimum`` recordings with speech
the statistics are too noisy: every row keeps the unadapted answer and says so.

Each stretch the first pass classified (a whole recording, or a voiced segment of a long one) is
read and featurised again by the twin (the first pass's features are not kept: it runs in forked
workers), so ``--adapt`` costs about twice the time of a plain batch. A segmented file's whole row
is its adapted segments' probabilities averaged by duration, as in the first pass.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from emoser.audio.recordings import without_constant_ends
from emoser.serving.served import ServedModel

DEFAULT_MIN_RECORDINGS = 20


def stretches(rows: list[dict]) -> tuple[list[int], dict[int, list[int]]]:
    """Indices of the rows that were classified from their own audio (a whole recording, or a
    segment), and for each segmented file's whole row the indices of its classified segments."""
    units, wholes = [], {}
    i = 0
    while i < len(rows):
        j = i + 1
        while j < len(rows) and rows[j]["file"] == rows[i]["file"] and rows[j]["start"] is not None:
            j += 1
        parts = [k for k in range(i + 1, j) if rows[k]["emotion"] is not None]
        if j > i + 1:
            units += parts
            wholes[i] = parts
        elif rows[i]["emotion"] is not None:
            units.append(i)
        i = j
    return units, wholes


def adapt_rows(rows: list[dict], served: ServedModel, read: Callable[[str], tuple[np.ndarray, int]],
               minimum: int = DEFAULT_MIN_RECORDINGS) -> list[dict]:
    """``rows`` (emoser predict's, in order) answered again by the adapted twin, or each with a note
    saying why not; ``read``: a file's signal and rate."""
    units, wholes = stretches(rows)
    rows = [dict(row) for row in rows]
    twin = served.adapted
    if twin is None or len(units) < minimum:
        why = ("not adapted: this served model has no adapted twin (package it again: dvc repro fit package)"
               if twin is None else
               f"not adapted: {len(units)} recordings with speech in the batch, {minimum} needed (--adapt-min)")
        for i in units:
            rows[i]["note"] = _joined(rows[i]["note"], why)
        return rows
    features = []
    for i in units:
        signal, rate = read(rows[i]["file"])
        if rows[i]["start"] is not None:
            signal = signal[int(rows[i]["start"] * rate):int(rows[i]["end"] * rate)]
        features.append(twin.features(without_constant_ends(signal), rate, Path(rows[i]["file"])))
    emotions = served.emotions
    for i, p in zip(units, served.adapted_probabilities(features)):
        _answer(rows[i], emotions, p, f"adapted to this batch ({len(units)} recordings with speech)")
    for whole, parts in wholes.items():
        if parts:
            durations = np.array([rows[k]["end"] - rows[k]["start"] for k in parts])
            mean = (durations[:, None] * np.array([[rows[k][e] for e in emotions] for k in parts])).sum(0)
            _answer(rows[whole], emotions, mean / mean.sum(), _joined(rows[whole]["note"], "segments adapted"))
    return rows


def _answer(row: dict, emotions: list[str], probabilities: np.ndarray, note: str) -> None:
    row.update(zip(emotions, map(float, probabilities)))
    row["emotion"] = emotions[int(np.argmax(probabilities))]
    row["note"] = note if row["note"] is None or note.startswith(str(row["note"])) else _joined(row["note"], note)


def _joined(first: str | None, second: str) -> str:
    return second if not first else f"{first}; {second}"
