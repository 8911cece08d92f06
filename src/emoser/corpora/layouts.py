"""The corpus layouts stage fetch reads, the label map, and the manifest every later stage relies on.

Layouts: ``emodb`` (Emo-DB's archive: wav/*.wav, erkennung.txt), ``ravdess`` (RAVDESS's archive:
Actor_XX/03-01-EE-II-SS-RR-AA.wav or .flac), ``nemo`` (nEMO's repository: samples/SPK_emotion_N.wav)
and ``csv`` (a table the user writes: file, emotion,
speaker and any other columns; emoser.corpora.table).

The manifest (``manifest.csv`` beside ``wav/``): one row per recording, with REQUIRED_COLUMNS
(``file`` a flat name under wav/, ``utterance`` the file without its extension, ``speaker`` a text
id, ``emotion`` the name after the label map, ``label`` its index in the corpus's emotion order,
and the audio's ``sample_rate``, ``channels``, ``duration``), then the columns the layout knows and
``content`` (the sha256 of its samples: the same audio under two names shares it; fetch reports them).
A corpus's emotion order is its manifest's: ``emotion_order``.

The label map (params ``labels``) turns the corpus's own labels into emotion names: empty, the
layout's names as they are; else every label found must be a key, mapped to a name or to null
(its recordings are dropped). The order: the layout's own class order mapped (csv: the map's
order, or the labels sorted when there is no map), dropped labels left out, a name two labels
map to at its first place.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from emoser.core.errors import EmoserError
from emoser.corpora import emodb, nemo, ravdess
from emoser.corpora.manifest import emotion_order

if TYPE_CHECKING:   # annotations only: stage sources, run by every `dvc repro`, reads no table
    import pandas as pd

REQUIRED_COLUMNS: tuple[str, ...] = (
    "file", "utterance", "speaker", "emotion", "label", "sample_rate", "channels", "duration",
)
CONTENT = "content"          # fetch: the sha256 of a recording's samples (emoser.corpora.fetching.audio_key)
RAW_EMOTION = "raw_emotion"   # the corpus's own label, before the map (layouts with ``raw_emotion``)
# columns a csv table may not carry: fetch computes them (a table's own file, emotion and speaker are read)
TABLE_RESERVED = frozenset(set(REQUIRED_COLUMNS) - {"file", "emotion", "speaker"} | {RAW_EMOTION})


@dataclass(frozen=True)
class Layout:
    """How one layout's recordings are found and what their file names say."""

    name: str
    what: str                                   # its recordings, in messages: "Emo-DB wav files"
    example: str                                # one recording's place in the layout, for messages
    labels: tuple[str, ...] | None              # its own labels in class order; None: the table's
    columns: tuple[str, ...]                    # the manifest's columns in order; (): required, then the table's
    member: Callable[[str], str | None] | None  # archive member -> its place in the corpus folder (None: leave out)
    row: Callable[[str], dict] | None           # a file name under wav/ -> its facts; ValueError: skip the file
    listener_test: bool = False                 # recognition, naturalness columns (empty without the test)
    every_label: bool = False                   # a label without recordings is an error before the map
    gloss: Mapping[str, str] | None = None      # its sentence codes in English (the results page shows them)
    # a local folder copied its own way (local, staging, source); None: each file where ``member`` puts it
    copy_folder: Callable[[Path, Path, str], None] | None = None
    raw_emotion: bool = True                    # keep the own label as RAW_EMOTION in the manifest
    first_report: bool = False                  # its fetch report keeps its first form (no layout, dropped)


LAYOUTS: dict[str, Layout] = {
    "emodb": Layout("emodb", "Emo-DB wav files", "wav/03a01Fa.wav", emodb.EMOTIONS, emodb.COLUMNS,
                    emodb.archive_member, emodb.manifest_row, listener_test=True, every_label=True,
                    gloss=emodb.GLOSS, copy_folder=emodb.copy_folder, raw_emotion=False, first_report=True),
    "ravdess": Layout("ravdess", "RAVDESS speech files", ravdess.EXAMPLE, ravdess.EMOTIONS,
                      REQUIRED_COLUMNS + ravdess.COLUMNS + (RAW_EMOTION,), ravdess.archive_member,
                      ravdess.manifest_row),
    "nemo": Layout("nemo", "nEMO recordings", nemo.EXAMPLE, nemo.EMOTIONS,
                   REQUIRED_COLUMNS + nemo.COLUMNS + (RAW_EMOTION,), nemo.archive_member, nemo.manifest_row),
    "csv": Layout("csv", "recordings", "a table: file, emotion, speaker", None, (), None, None),
}


def get_layout(name: str) -> Layout:
    if name not in LAYOUTS:
        raise EmoserError(f"layout {name!r}: no such corpus layout (there are {', '.join(LAYOUTS)})")
    return LAYOUTS[name]


def check_label_map(labels: Mapping[str, str | None] | None, layout: Layout) -> dict[str, str | None]:
    """The label map as a dict, its keys and names checked (a layout with its own labels knows each key)."""
    checked: dict[str, str | None] = {}
    for key, name in (labels or {}).items():
        if not isinstance(key, str) or not key.strip():
            raise EmoserError(f"labels: {key!r} is not a label (a non-empty text)")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            raise EmoserError(f"labels: {key}: {name!r} is not an emotion name (a non-empty text, or null to drop "
                              f"{key}'s recordings)")
        if layout.labels is not None and key not in layout.labels:
            raise EmoserError(f"labels: {key!r} is not a {layout.name} label (it has {', '.join(layout.labels)})")
        checked[key] = name
    return checked


@dataclass(frozen=True)
class Relabelled:
    """The label map applied to a corpus's recordings."""

    emotions: tuple[str | None, ...]    # each recording's emotion name; None: dropped
    order: tuple[str, ...]              # the corpus's emotion order (the label index)
    dropped: dict[str, int]             # recordings dropped, per label the map sends to null


def map_labels(raw: Sequence[str], where: Sequence[str], layout: Layout, labels: Mapping[str, str | None] | None,
               source: str) -> Relabelled:
    """Apply the label map to each recording's own label ``raw`` (``where``: the recording, for messages)."""
    label_map = check_label_map(labels, layout)
    first: dict[str, str] = {}
    for label, place in zip(raw, where):
        first.setdefault(label, place)
    if label_map:
        for label, place in first.items():
            if label not in label_map:
                raise EmoserError(f"{source}: label {label!r} (first in {place}) is not in the label map; add it: "
                                  f"labels: {{{label}: <emotion>}}, or {label}: null to drop its recordings")
        if layout.labels is not None:   # its class order
            own = tuple(label for label in layout.labels if label in label_map)
        else:                           # the map's order, of the labels found
            own = tuple(label for label in label_map if label in first)
        named = {label: label_map[label] for label in own}
    else:
        own = layout.labels if layout.labels is not None else tuple(sorted(first))
        named = {label: label for label in own}
    order = tuple(dict.fromkeys(name for name in named.values() if name is not None))
    counts = Counter(raw)
    dropped = {label: counts[label] for label in own if named[label] is None and counts[label]}
    emotions = tuple(named[label] for label in raw)
    if len(order) < 2:
        raise EmoserError(f"{source}: {len(order)} emotion(s) left after the label map "
                          f"({', '.join(order) or 'none'}); a classifier needs at least 2")
    kept = Counter(e for e in emotions if e is not None)
    empty = [name for name in order if not kept[name]]
    if empty:
        raise EmoserError(f"{source}: no recordings of emotion(s) {', '.join(empty)}; every emotion in the order "
                          "needs some (map its label to null to drop it)")
    return Relabelled(emotions, order, dropped)


def relabel(manifest: pd.DataFrame, layout: Layout, labels: Mapping[str, str | None] | None,
            source: str) -> tuple[pd.DataFrame, Relabelled]:
    """The manifest with the label map applied (``emotion`` holding the layout's own labels): dropped
    recordings removed, ``emotion`` and ``label`` set, the own label kept as RAW_EMOTION (where the layout
    says ``raw_emotion``; Emo-DB's manifest stays as it always was), columns in the layout's order."""
    raw = manifest["emotion"].astype(str).tolist()
    mapped = map_labels(raw, manifest["file"].tolist(), layout, labels, source)
    table = manifest.copy()
    if layout.raw_emotion:
        table[RAW_EMOTION] = raw
    table["emotion"] = list(mapped.emotions)
    table = table[table["emotion"].notna()].reset_index(drop=True)
    index = {name: i for i, name in enumerate(mapped.order)}
    table["label"] = [index[name] for name in table["emotion"]]
    return table[ordered_columns(table.columns, layout)], mapped


def ordered_columns(columns, layout: Layout) -> list[str]:
    """The layout's columns first (csv: the required ones), then the rest as they come, RAW_EMOTION and
    CONTENT last."""
    lead = [c for c in (layout.columns or REQUIRED_COLUMNS) if c in columns and c != CONTENT]
    rest = [c for c in columns if c not in lead and c not in (RAW_EMOTION, CONTENT)]
    tail = [RAW_EMOTION] if RAW_EMOTION in columns and RAW_EMOTION not in lead else []
    return lead + rest + tail + ([CONTENT] if CONTENT in columns else [])


def check_manifest(manifest: pd.DataFrame, source: str) -> tuple[str, ...]:
    """Check the manifest contract (module docstring); return the emotion order."""
    missing = [c for c in REQUIRED_COLUMNS if c not in manifest]
    if missing:
        raise EmoserError(f"{source}: the manifest lacks column(s) {', '.join(missing)}")
    if not len(manifest):
        raise EmoserError(f"{source}: no recordings")
    for column in ("file", "utterance"):
        twice = manifest.loc[manifest[column].duplicated(), column]
        if len(twice):
            raise EmoserError(f"{source}: {column} {twice.iloc[0]!r} is in the manifest twice")
    nested = [f for f in manifest["file"] if "/" in f or "\\" in f]
    if nested:
        raise EmoserError(f"{source}: file {nested[0]!r} is not a flat name under wav/")
    if not all(isinstance(s, str) and s for s in manifest["speaker"]):
        raise EmoserError(f"{source}: speaker ids must be non-empty texts")
    return emotion_order(manifest)
