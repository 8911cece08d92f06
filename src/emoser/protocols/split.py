"""The hold-out split: every clip to train, val, test or unused (stage split).

Protocols (``split.protocol``):
- ``utterance``: original utterances split 70/15/15, stratified by emotion; each
  augmented copy goes where its source utterance goes, and val/test keep originals only.
- ``speaker``: the speakers named in params are held out whole for val and test.
- ``leaky``: the student report's protocol, a random split over all clips *after*
  augmentation, so copies of one recording sit in train and test. Kept only to show
  how much that inflates the scores.
"""
from __future__ import annotations

import logging
import math

import pandas as pd
from sklearn.model_selection import train_test_split

from emoser.core.errors import EmoserError
from emoser.params.split import SplitParams
from emoser.protocols.names import SUBSETS

log = logging.getLogger(__name__)


def check_emotions(table: pd.DataFrame, needed: int, what: str, advice: str) -> None:
    """An emotion with fewer than ``needed`` rows in ``table`` is a clear error naming it (scikit-learn's
    stratified splitters would say 'The least populated class in y has only 1 member')."""
    counts = table["emotion"].value_counts(sort=False)
    few = counts[counts < needed].sort_values(kind="stable")
    if len(few):
        emotion, n = few.index[0], int(few.iloc[0])
        raise EmoserError(f"{what}: emotion {emotion!r} has {n} recording(s), it needs {needed} or more ({advice}; "
                          f"or drop it from the corpus with corpora.NAME.labels: {{{emotion}: null}})")


def _three_way(table: pd.DataFrame, params: SplitParams) -> dict[str, pd.DataFrame]:
    """Stratified train/val/test split of the rows of ``table`` by emotion."""
    held_out = params.val + params.test
    # each emotion needs 2 or more in the held-out share (split again into val and test, stratified)
    check_emotions(table, math.ceil(2 / held_out - 1e-9), f"split.protocol {params.protocol} (stages split, folds)",
                   "split.val + split.test hold out 2 of them")
    train, rest = train_test_split(table, test_size=held_out, stratify=table["emotion"],
                                   random_state=params.seed)
    val, test = train_test_split(rest, test_size=params.test / held_out, stratify=rest["emotion"],
                                 random_state=params.seed)
    return {"train": train, "val": val, "test": test}


def assign_subsets(clips: pd.DataFrame, params: SplitParams) -> pd.Series:
    """Subset per clip (index: clip id): 'train', 'val', 'test' or 'unused'."""
    clips = clips.set_index("clip", drop=False)
    if params.protocol == "leaky":
        parts = _three_way(clips, params)
        subset = pd.Series("unused", index=clips.index)
        for name, part in parts.items():
            subset[part.index] = name
        return subset

    originals = clips[clips["kind"] == "original"].set_index("utterance", drop=False)
    if params.protocol == "utterance":
        parts = _three_way(originals, params)
        side = pd.Series({u: name for name, part in parts.items() for u in part.index})
    elif params.protocol == "speaker":
        check_speakers(originals["speaker"], params)
        side = pd.Series("train", index=originals.index)
        side[originals["speaker"].isin(params.val_speakers)] = "val"
        side[originals["speaker"].isin(params.test_speakers)] = "test"
    else:
        raise ValueError(f"unknown split.protocol {params.protocol!r}")

    return follow_source(clips, apart_duplicates(side, originals))


def check_speakers(speakers: pd.Series, params: SplitParams) -> None:
    """The speaker protocol's held-out speakers must be the corpus's, and leave some to train on."""
    known = sorted(set(speakers))
    for key in ("val_speakers", "test_speakers"):
        unknown = [s for s in getattr(params, key) if s not in known]
        if unknown:
            raise EmoserError(f"split.{key}: speaker(s) {unknown} not in the corpus (stage split; its speakers: "
                              f"{', '.join(known)})")
    if not set(known) - set(params.val_speakers) - set(params.test_speakers):
        raise EmoserError("split.val_speakers and split.test_speakers hold out every speaker; none is left to train on")


HELD = {"test": 2, "val": 1, "train": 0, "unused": -1}     # which side a duplicate's copies defer to


def apart_duplicates(side: pd.Series, recordings: pd.DataFrame) -> pd.Series:
    """``side`` (utterance -> subset) with every copy of the same audio on one side: a recording whose
    ``content`` (fetch: the sha256 of its samples) another recording of the same fold holds in test is
    not validated or trained on there, one whose copy is in val is not trained on ('unused').
    The same audio under two names would otherwise be scored after training on it. ``recordings``:
    rows with utterance and content (none: nothing to do)."""
    if "content" not in recordings:
        return side
    content = recordings.drop_duplicates("utterance").set_index("utterance")["content"].reindex(side.index)
    rank = side.map(HELD)
    top = rank.groupby(content.to_numpy()).transform("max")
    moved = rank < top.to_numpy()
    if moved.any():
        side = side.copy()
        side[moved] = "unused"
    return side


def follow_source(clips: pd.DataFrame, side: pd.Series) -> pd.Series:
    """Subset per clip (index: clip id) from ``side``, the subset of each original utterance.

    Every copy goes where its source recording goes; val and test score real recordings
    only, so copies of val/test utterances are 'unused', never trained on.
    """
    clips = clips.set_index("clip", drop=False)
    subset = clips["utterance"].map(side)
    if subset.isna().any():
        missing = sorted(clips.loc[subset.isna(), "utterance"].unique())[:5]
        raise ValueError(f"no subset for utterances {missing}")
    subset[(subset != "train") & (clips["kind"] != "original")] = "unused"
    return subset


def summarise(clips: pd.DataFrame, subset: pd.Series) -> dict:
    table = clips.assign(subset=subset.to_numpy())
    return {name: {"clips": int((table["subset"] == name).sum()),
                   "utterances": int(table.loc[table["subset"] == name, "utterance"].nunique()),
                   "speakers": sorted(table.loc[table["subset"] == name, "speaker"].unique().tolist())}
            for name in SUBSETS}

