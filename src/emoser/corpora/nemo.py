"""What nEMO is (Polish acted emotional speech; Christop, LREC-COLING 2024): its emotions, speakers
and file names.

The public repository (github.com/amu-cai/nEMO; its archive ``nEMO-main.zip``) holds
``samples/<speaker>_<emotion>_<sentence>.wav`` (24 kHz mono) and ``data.tsv``; a local copy may hold
the same names as ``.flac``. The file name says all a manifest needs: speaker (``EB0``), emotion
(``anger``) and sentence number. The table's transcriptions and speaker facts are not read.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

# The corpus's own labels in its class order (the paper's); a label map renames or drops them.
EMOTIONS: tuple[str, ...] = ("anger", "fear", "happiness", "neutral", "sadness", "surprised")
AUDIO_SUFFIXES = (".wav", ".flac")
COLUMNS = ("sentence",)           # the manifest's columns beyond the required ones
EXAMPLE = "samples/EB0_anger_1.wav"
_NAME = re.compile(r"^([A-Z]{2}\d)_([a-z]+)_(\d+)(\.[A-Za-z0-9]+)$")


def manifest_row(file_name: str) -> dict:
    """The facts a nEMO file name encodes, e.g. ``EB0_anger_1.wav`` (speaker EB0, anger, sentence 1);
    ValueError saying why another name is not one."""
    match = _NAME.match(file_name)
    if match is None or match.group(4).lower() not in AUDIO_SUFFIXES:
        raise ValueError(f"{file_name!r} is not a nEMO file name (expected <speaker>_<emotion>_<n>.wav or .flac, "
                         f"e.g. 'EB0_anger_1.wav')")
    speaker, emotion, sentence = match.group(1, 2, 3)
    if emotion not in EMOTIONS:
        raise ValueError(f"{file_name!r}: unknown emotion {emotion!r} (nEMO has {', '.join(EMOTIONS)})")
    return {"file": file_name, "utterance": PurePosixPath(file_name).stem, "speaker": speaker, "emotion": emotion,
            "label": EMOTIONS.index(emotion), "sentence": sentence}


def archive_member(name: str) -> str | None:
    """Where an archive member (or a file of a folder) goes: ``samples/<audio file>``, at the top or
    inside one enclosing folder (``nEMO-main/``), to ``wav/<audio file>``; anything else is left out."""
    parts = PurePosixPath(name).parts
    if (2 <= len(parts) <= 3 and parts[-2] == "samples" and not parts[-1].startswith(".")
            and "__MACOSX" not in parts and PurePosixPath(name).suffix.lower() in AUDIO_SUFFIXES):
        return f"wav/{parts[-1]}"
    return None
