"""What RAVDESS is (its speech part): emotion codes, actors, statements and file names.

The official archive (Zenodo record 1188976, ``Audio_Speech_Actors_01-24.zip``) holds
``Actor_XX/MM-VV-EE-II-SS-RR-AA.wav``: modality, vocal channel, emotion, intensity, statement,
repetition and actor, each two digits. Speech only: song files (vocal channel 02) are left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# The corpus's own class order (emotion codes 01..08); a label map renames or drops them.
EMOTIONS: tuple[str, ...] = ("neutral", "calm", "happy", "sad", "angry", "fearful", "disgust", "surprised")
EMOTION_BY_CODE: dict[str, str] = {f"{code:02d}": name for code, name in enumerate(EMOTIONS, start=1)}
MODALITY_BY_CODE: dict[str, str] = {"01": "full-AV", "02": "video-only", "03": "audio-only"}
AUDIO_MODALITIES = ("01", "03")     # a full-AV recording's sound is speech as well
SPEECH = "01"                       # vocal channel; 02 is song
INTENSITY_BY_CODE: dict[str, str] = {"01": "normal", "02": "strong"}
SENTENCE_BY_TEXT: dict[str, str] = {"01": "Kids are talking by the door", "02": "Dogs are sitting by the door"}
REPETITIONS = ("01", "02")
ACTORS: tuple[str, ...] = tuple(f"{actor:02d}" for actor in range(1, 25))
AUDIO_SUFFIXES = (".wav", ".flac")
# The manifest's columns beyond the required ones, in this order.
COLUMNS = ("sex", "text", "sentence", "intensity", "repetition")

_NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)(\.[A-Za-z0-9]+)$")
_ACTOR_FOLDER = re.compile(r"^Actor_\d\d$")
EXAMPLE = "Actor_01/03-01-05-01-02-01-01.wav"


@dataclass(frozen=True)
class Utterance:
    """The facts a RAVDESS file name encodes, e.g. ``03-01-05-01-02-01-01.wav`` (actor 01, angry)."""

    file: str
    actor: str
    emotion: str
    intensity: str
    text: str
    repetition: str

    @property
    def utterance_id(self) -> str:
        return PurePosixPath(self.file).stem

    @property
    def sex(self) -> str:
        return "m" if int(self.actor) % 2 else "f"

    @property
    def sentence(self) -> str:
        return SENTENCE_BY_TEXT[self.text]


def _known(file_name: str, what: str, code: str, table) -> str:
    if code not in table:
        raise ValueError(f"{file_name!r}: unknown {what} {code!r} (RAVDESS has {', '.join(table)})")
    return code


def parse_name(file_name: str) -> Utterance:
    """Parse a RAVDESS speech file name; raise ValueError saying why it is not one (song, video, ...)."""
    match = _NAME.match(file_name)
    if match is None or match.group(8).lower() not in AUDIO_SUFFIXES:
        raise ValueError(f"{file_name!r} is not a RAVDESS file name (expected seven two-digit fields and "
                         f".wav or .flac, e.g. '03-01-05-01-02-01-01.wav')")
    modality, channel, emotion, intensity, text, repetition, actor = match.group(1, 2, 3, 4, 5, 6, 7)
    if modality not in AUDIO_MODALITIES:
        raise ValueError(f"{file_name!r}: modality {modality!r} "
                         f"({MODALITY_BY_CODE.get(modality, 'unknown')}) holds no audio; audio-only is 03")
    if channel != SPEECH:
        raise ValueError(f"{file_name!r}: vocal channel {channel!r} "
                         f"({'song' if channel == '02' else 'unknown'}); only speech (01) is read")
    _known(file_name, "emotion code", emotion, EMOTION_BY_CODE)
    _known(file_name, "intensity", intensity, INTENSITY_BY_CODE)
    _known(file_name, "statement", text, SENTENCE_BY_TEXT)
    _known(file_name, "repetition", repetition, REPETITIONS)
    _known(file_name, "actor", actor, ACTORS)
    return Utterance(file_name, actor, EMOTION_BY_CODE[emotion], INTENSITY_BY_CODE[intensity], text, repetition)


def manifest_row(file_name: str) -> dict:
    """The manifest's facts of one file (emotion: the corpus's own name; label: its code's index)."""
    utt = parse_name(file_name)
    return {"file": utt.file, "utterance": utt.utterance_id, "speaker": utt.actor, "emotion": utt.emotion,
            "label": EMOTIONS.index(utt.emotion), "sex": utt.sex, "text": utt.text, "sentence": utt.sentence,
            "intensity": utt.intensity, "repetition": utt.repetition}


def archive_member(name: str) -> str | None:
    """Where an archive member (or a file of a folder, as a relative path) goes in the corpus folder:
    ``Actor_XX/<audio file>``, at the top or inside one enclosing folder, to ``wav/<audio file>``;
    anything else (macOS resource forks, documents) is left out."""
    parts = PurePosixPath(name).parts
    if (2 <= len(parts) <= 3 and _ACTOR_FOLDER.match(parts[-2]) and not parts[-1].startswith(".")
            and "__MACOSX" not in parts and PurePosixPath(name).suffix.lower() in AUDIO_SUFFIXES):
        return f"wav/{parts[-1]}"
    return None
