"""A batch of recordings from one set-up, answered by the adapted twin (``emoser predict --adapt``).

Across corpora our model is near chance as it is; z-scoring each corpus's features over its own
recordings lifts it (stage loco, ``+corpstd``: README). A user's batch from one set-up (one
microphone, room, language) is such a corpus: the twin stage fit trained on corpus-standardised
features (models/ours/adapted, packaged beside the model) answers each recording from its features
z-scored over the whole batch (``ServedModel.adapted_probabilities``). It uses the batch's
unlabelled audio only, and assumes what per-corpus statistics assume: a batch that spans the
emotions (a batch of one emotion is standardised away). Below ``minimum`` recordings with speech
the statistics are too noisy: every row keeps the unadapted answer and says so.

Where each recording names its speaker (or session: ``--speakers``), the batch can be standardised per
speaker instead, each speaker's recordings over their own: through the same twin, it gains what a
model trained on speaker-standardised corpora gains (leave one corpus out, Whisper view: Emo-DB
0.691 -> 0.715, RAVDESS 0.525 -> 0.593, nEMO 0.516 -> 0.613 UAR; docs/corpora.md). It assumes more:
that each speaker's recordings span the emotions. Where speakers hold one or two emotions each, it
removes the emotion with the speaker and falls towards chance (RAVDESS, one per speaker: 0.474 -> 0.156).
No label says which batch is which, so a guard reads the batch's own answers: where the per-corpus
answers depend on who speaks (``speaker_dependence`` above ``SPEAKER_GUARD``), the speakers likely hold
few emotions each (and where standardising per speaker would change many answers: ``AGREEMENT_GUARD``),
and the batch keeps its per-corpus answers, with a note saying why.

Each stretch the first pass classified (a whole recording, or a voiced segment of a long one) is
read and featurised again by the twin (the first pass's features are not kept: it runs in forked
workers), so ``--adapt`` costs about twice the time of a plain batch. A segmented file's whole row
is its adapted segments' probabilities averaged by duration, as in the first pass.
"""
from __future__ import annotations

import csv
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

from emoser.audio.recordings import without_constant_ends
from emoser.core.errors import EmoserError
from emoser.serving.served import ServedModel

DEFAULT_MIN_RECORDINGS = 20
DEFAULT_MIN_PER_SPEAKER = 5       # fewer: that speaker's recordings are standardised with the batch's
# The guard (``speaker_guard``): per speaker only where the batch's answers depend little on who speaks
# (bias-corrected Cramér's V at most SPEAKER_GUARD) and per-speaker standardisation keeps most of them
# (agreement at least AGREEMENT_GUARD). Chosen on 15 batches (tools/speaker_guard.py, leave one corpus out:
# Emo-DB, RAVDESS, nEMO; whole, 4 speakers, speakers keeping 3, 2 or 1 emotions; docs/corpora.md), on the
# safe side: every batch where per-speaker standardisation lost UAR is refused (the closest: V 0.375,
# agreement 0.642), and one where it gained 0.09 too (V 0.375). Checked since on 18 batches of 30 recordings:
# each of the 9 where speakers hold one emotion refused.
SPEAKER_GUARD = 0.35
AGREEMENT_GUARD = 0.68


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


def speaker_dependence(speakers: Sequence[str], answers: Sequence[str]) -> float:
    """How strongly ``answers`` depend on ``speakers``: Cramér's V of their table, bias-corrected
    (Bergsma 2013). 0: each speaker gets the same mix of answers; 1: each speaker one answer of their own.
    Hand-written: scipy's ``contingency.association`` has no bias correction, and the plain V of a small
    batch is large by chance alone (30 recordings, 3 speakers, 6 answers: ~0.4 for independent ones)."""
    speaker_index = {s: i for i, s in enumerate(dict.fromkeys(speakers))}
    answer_index = {a: i for i, a in enumerate(dict.fromkeys(answers))}
    table = np.zeros((len(speaker_index), len(answer_index)))
    for s, a in zip(speakers, answers):
        table[speaker_index[s], answer_index[a]] += 1
    n, (r, k) = table.sum(), table.shape
    if n < 2 or min(r, k) < 2:
        return 0.0
    expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / n
    phi2 = float(((table - expected) ** 2 / expected).sum() / n)
    phi2 = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
    r_corrected, k_corrected = r - (r - 1) ** 2 / (n - 1), k - (k - 1) ** 2 / (n - 1)
    denominator = min(k_corrected - 1, r_corrected - 1)
    return float(np.sqrt(phi2 / denominator)) if denominator > 0 else 0.0


def read_speakers(table: Path) -> dict[str, str]:
    """``--speakers``: a CSV naming each recording's speaker (or session), columns ``file`` (the file's
    name, without its folder) and ``speaker``; file name -> speaker. One error naming the file and what is
    wrong with it otherwise."""
    try:
        with open(table, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = {"file", "speaker"} - set(reader.fieldnames or [])
            if missing:
                raise EmoserError(f"--speakers {table}: no column {', '.join(sorted(missing))} (it needs file and "
                                  f"speaker; it has {', '.join(reader.fieldnames or []) or 'none'})")
            speakers: dict[str, str] = {}
            for line, row in enumerate(reader, start=2):
                name, speaker = Path(row["file"] or "").name, (row["speaker"] or "").strip()
                if not name or not speaker:
                    raise EmoserError(f"--speakers {table}, line {line}: an empty file or speaker")
                if speakers.setdefault(name, speaker) != speaker:
                    raise EmoserError(f"--speakers {table}, line {line}: {name} is {speakers[name]!r} above, "
                                      f"{speaker!r} here")
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise EmoserError(f"--speakers {table}: cannot read it as a CSV ({exc})") from None
    return speakers


def speakers_of(files: Sequence[Path], speakers: Mapping[str, str], table: Path) -> dict[str, str]:
    """Each file (as its rows name it: ``str(path)``) -> its speaker in ``speakers`` (by file name); one error
    naming the first file the table does not name, before any file is classified."""
    found = {}
    for path in files:
        if path.name not in speakers:
            raise EmoserError(f"--speakers {table}: no speaker for {path.name} (its column file names each recording)")
        found[str(path)] = speakers[path.name]
    return found


def speaker_guard(speakers: Sequence[str], batch_answers: Sequence[str], speaker_answers: Sequence[str]
                  ) -> str | None:
    """Why a batch must not be standardised per speaker, or None where it may: ``batch_answers`` (each
    recording's, standardised over the batch) depending on ``speakers`` above ``SPEAKER_GUARD``, or
    ``speaker_answers`` (standardised per speaker) agreeing with them below ``AGREEMENT_GUARD``."""
    dependence = speaker_dependence(speakers, batch_answers)
    if dependence > SPEAKER_GUARD:
        return (f"this batch's answers depend on who speaks (Cramér's V {dependence:.2f} > {SPEAKER_GUARD:.2f}), "
                "as where each speaker holds few emotions, which per-speaker standardisation would remove")
    agreement = float(np.mean([a == b for a, b in zip(batch_answers, speaker_answers)]))
    if agreement < AGREEMENT_GUARD:
        return (f"per-speaker standardisation would change {1 - agreement:.0%} of this batch's answers (more than "
                f"{1 - AGREEMENT_GUARD:.0%}), as where speakers hold few emotions each")
    return None


def adapt_rows(rows: list[dict], served: ServedModel, read: Callable[[str], tuple[np.ndarray, int]],
               minimum: int = DEFAULT_MIN_RECORDINGS, speakers: Mapping[str, str] | None = None,
               per_speaker: int = DEFAULT_MIN_PER_SPEAKER) -> list[dict]:
    """``rows`` (emoser predict's, in order) answered again by the adapted twin, or each with a note
    saying why not; ``read``: a file's signal and rate. With ``speakers`` (a row's file -> its speaker),
    per speaker where the guard allows it (``SPEAKER_GUARD``), per batch where it does not."""
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
    first_notes = [rows[i]["note"] for i in units]
    for i, p in zip(units, served.adapted_probabilities(features)):
        _answer(rows[i], emotions, p, f"adapted to this batch ({len(units)} recordings with speech)")
    if speakers is not None:
        _adapt_to_speakers(rows, units, first_notes, features, served, [speakers[rows[i]["file"]] for i in units],
                           per_speaker)
    for whole, parts in wholes.items():
        if parts:
            durations = np.array([rows[k]["end"] - rows[k]["start"] for k in parts])
            mean = (durations[:, None] * np.array([[rows[k][e] for e in emotions] for k in parts])).sum(0)
            _answer(rows[whole], emotions, mean / mean.sum(), _joined(rows[whole]["note"], "segments adapted"))
    return rows


def _adapt_to_speakers(rows: list[dict], units: list[int], first_notes: list[str | None], features: list[dict],
                       served: ServedModel, speakers: list[str], per_speaker: int) -> None:
    """The batch-adapted ``rows`` answered again with each speaker's recordings standardised over their
    own, unless the guard (``speaker_guard``) says no; a speaker with fewer than ``per_speaker``
    recordings keeps the statistics of the batch's other small speakers."""
    counts = {s: speakers.count(s) for s in set(speakers)}
    groups = [s if counts[s] >= per_speaker else "" for s in speakers]    # "": the batch's small speakers
    emotions = served.emotions
    probabilities = served.adapted_probabilities(features, groups)
    batch_answers = [rows[i]["emotion"] for i in units]
    why = speaker_guard(speakers, batch_answers, [emotions[int(np.argmax(p))] for p in probabilities])
    if why is not None:
        for i in units:
            rows[i]["note"] = _joined(rows[i]["note"], f"not adapted to speakers: {why}")
        return
    small = groups.count("")
    for i, first, speaker, group, p in zip(units, first_notes, speakers, groups, probabilities):
        note = (f"adapted to speaker {speaker} ({counts[speaker]} recordings)" if group
                else f"adapted with the {small} recordings of this batch's speakers with fewer than {per_speaker} each")
        rows[i]["note"] = first
        _answer(rows[i], emotions, p, note)


def _answer(row: dict, emotions: list[str], probabilities: np.ndarray, note: str) -> None:
    row.update(zip(emotions, map(float, probabilities)))
    row["emotion"] = emotions[int(np.argmax(probabilities))]
    row["note"] = note if row["note"] is None or note.startswith(str(row["note"])) else _joined(row["note"], note)


def _joined(first: str | None, second: str) -> str:
    return second if not first else f"{first}; {second}"
