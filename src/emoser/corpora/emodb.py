"""What Emo-DB is: its emotions, speakers, sentences, file names and listener test.

This module is the one source of truth for labels: every other module takes the
class order, names and speaker facts from here.

(Emo-DB's own labels. A corpus's emotions in label order, whatever its layout, are its
manifest's: emoser.corpora.layouts.emotion_order.)
"""
from __future__ import annotations

import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from emoser.core.errors import EmoserError

if TYPE_CHECKING:   # pandas where used: stage sources, run by every `dvc repro`, reads no table
    import pandas as pd

# Class order is the label index used by every model, metric and plot.
EMOTIONS: tuple[str, ...] = (
    "anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral",
)
# German initial in the file name -> emotion (Wut, Langeweile, Ekel, Angst, Freude, Trauer, Neutral).
EMOTION_BY_LETTER: dict[str, str] = {
    "W": "anger", "L": "boredom", "E": "disgust", "A": "fear",
    "F": "happiness", "T": "sadness", "N": "neutral",
}
LABEL_BY_EMOTION: dict[str, int] = {name: i for i, name in enumerate(EMOTIONS)}

SEX_BY_SPEAKER: dict[str, str] = {
    "03": "m", "10": "m", "11": "m", "12": "m", "15": "m",
    "08": "f", "09": "f", "13": "f", "14": "f", "16": "f",
}
SPEAKERS: tuple[str, ...] = tuple(sorted(SEX_BY_SPEAKER))

SENTENCE_BY_TEXT: dict[str, str] = {
    "a01": "Der Lappen liegt auf dem Eisschrank.",
    "a02": "Das will sie am Mittwoch abgeben.",
    "a04": "Heute abend könnte ich es ihm sagen.",
    "a05": "Das schwarze Stück Papier befindet sich da oben neben dem Holzstück.",
    "a07": "In sieben Stunden wird es soweit sein.",
    "b01": "Was sind denn das für Tüten, die da unter dem Tisch stehen?",
    "b02": "Sie haben es gerade hochgetragen und jetzt gehen sie wieder runter.",
    "b03": "An den Wochenenden bin ich jetzt immer nach Hause gefahren und habe Agnes besucht.",
    "b09": "Ich will das eben wegbringen und dann mit Karl was trinken gehen.",
    "b10": "Die wird auf dem Platz sein, wo wir sie immer hinlegen.",
}

LISTENER_TEST = "erkennung.txt"   # the listener test beside wav/ in the archive
# The manifest's columns, in this order (stage fetch writes them so; the listener test's may be empty).
COLUMNS: tuple[str, ...] = ("file", "utterance", "speaker", "sex", "text", "sentence", "emotion", "label", "version",
                            "sample_rate", "channels", "duration", "recognition", "naturalness")

_NAME = re.compile(r"^(?P<speaker>\d\d)(?P<text>[ab]\d\d)(?P<letter>[A-Z])(?P<version>[a-z])\.wav$")


@dataclass(frozen=True)
class Utterance:
    """The facts an Emo-DB file name encodes, e.g. ``03a01Fa.wav``."""

    file: str
    speaker: str
    text: str
    emotion: str
    version: str

    @property
    def utterance_id(self) -> str:
        return self.file[: -len(".wav")]

    @property
    def sex(self) -> str:
        return SEX_BY_SPEAKER[self.speaker]

    @property
    def label(self) -> int:
        return LABEL_BY_EMOTION[self.emotion]

    @property
    def sentence(self) -> str:
        return SENTENCE_BY_TEXT[self.text]


def parse_name(file_name: str) -> Utterance:
    """Parse an Emo-DB file name; raise ValueError saying what is wrong with it."""
    match = _NAME.match(file_name)
    if match is None:
        raise ValueError(
            f"{file_name!r} is not an Emo-DB file name "
            "(expected speaker, text, emotion letter, version and .wav, e.g. '03a01Fa.wav')"
        )
    speaker, text, letter, version = match.group("speaker", "text", "letter", "version")
    if speaker not in SEX_BY_SPEAKER:
        raise ValueError(f"{file_name!r}: unknown speaker {speaker!r} (Emo-DB has {', '.join(SPEAKERS)})")
    if text not in SENTENCE_BY_TEXT:
        raise ValueError(f"{file_name!r}: unknown text {text!r} (Emo-DB has {', '.join(SENTENCE_BY_TEXT)})")
    if letter not in EMOTION_BY_LETTER:
        raise ValueError(
            f"{file_name!r}: unknown emotion letter {letter!r} (Emo-DB has {''.join(EMOTION_BY_LETTER)})"
        )
    return Utterance(file_name, speaker, text, EMOTION_BY_LETTER[letter], version)


def manifest_row(file_name: str) -> dict:
    """The manifest's facts of one file, in COLUMNS order; ValueError as ``parse_name``."""
    utt = parse_name(file_name)
    return {"file": utt.file, "utterance": utt.utterance_id, "speaker": utt.speaker, "sex": utt.sex,
            "text": utt.text, "sentence": utt.sentence, "emotion": utt.emotion, "label": utt.label,
            "version": utt.version}


def archive_member(name: str) -> str | None:
    """Map an archive member to where it goes in the corpus folder, or None to leave it out.

    The archive holds more (label files, syllable data); only ``wav/*.wav`` and the
    listener test are taken, at the top level or inside one enclosing folder.
    """
    parts = PurePosixPath(name).parts
    if len(parts) >= 2 and parts[-2] == "wav" and len(parts) <= 3 and name.lower().endswith(".wav"):
        return f"wav/{parts[-1]}"
    if parts and parts[-1] == LISTENER_TEST and len(parts) <= 2:
        return LISTENER_TEST
    return None


def parse_listener_test(raw: bytes, source: str = "erkennung.txt") -> pd.DataFrame:
    """Parse Emo-DB's listener test into columns file, recognition, naturalness (percent).

    The file is Latin-1, tab separated, uses decimal commas and pads fields with
    non-breaking spaces (0xA0) or NUL bytes, so it is cleaned before parsing.
    """
    import pandas as pd

    text = raw.decode("latin-1").replace("\x00", "").replace("\xa0", "")
    table = pd.read_csv(io.StringIO(text), sep="\t", dtype=str, keep_default_na=False)
    table.columns = [c.strip() for c in table.columns]
    needed = {"Satz", "erkannt", "natuerlich"}
    if not needed <= set(table.columns):
        raise ValueError(f"{source}: expected columns {sorted(needed)}, found {list(table.columns)}")
    rows = []
    for line_no, row in enumerate(table.itertuples(index=False), start=2):
        name = row.Satz.strip()
        if not name:
            continue
        try:
            recognition = float(row.erkannt.strip().replace(",", "."))
            naturalness = float(row.natuerlich.strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"{source}, line {line_no}: cannot read percentages from {tuple(row)!r}") from None
        if not (0 <= recognition <= 100 and 0 <= naturalness <= 100):
            raise ValueError(f"{source}, line {line_no}: percentages out of 0..100 in {tuple(row)!r}")
        rows.append((name, recognition, naturalness))
    return pd.DataFrame(rows, columns=["file", "recognition", "naturalness"])


def read_listener_test(path: Path) -> pd.DataFrame:
    return parse_listener_test(Path(path).read_bytes(), source=str(path))


def copy_folder(local: Path, staging: Path, source: str) -> None:
    """Emo-DB's folder (wav/, erkennung.txt), or its wav/ folder itself."""
    wav_source = local / "wav" if (local / "wav").is_dir() else local if any(local.glob("*.wav")) else None
    if wav_source is None:
        raise EmoserError(f"fetch.source {source!r}: no wav/ folder and no wav files in it "
                          f"(expected Emo-DB's layout: wav/, {LISTENER_TEST})")
    shutil.copytree(wav_source, staging / "wav")
    listener = wav_source.parent / LISTENER_TEST
    if listener.is_file():
        shutil.copy2(listener, staging / LISTENER_TEST)



# Emo-DB's ten sentences in English (after the corpus documentation; Burkhardt et al., 2005).
GLOSS = {
    "a01": "The tablecloth is lying on the fridge.",
    "a02": "She will hand it in on Wednesday.",
    "a04": "Tonight I could tell him.",
    "a05": "The black sheet of paper is up there beside the piece of timber.",
    "a07": "In seven hours it will be time.",
    "b01": "What are those bags standing there under the table?",
    "b02": "They just carried it upstairs and now they are going down again.",
    "b03": "At weekends I have always gone home lately and seen Agnes.",
    "b09": "I'll just take this away and then go for a drink with Karl.",
    "b10": "It will be in the place where we always put it.",
}
