"""The cross-validation folds, one table for every model, trained or not (stage folds).

- ``loso``: leave one speaker out. Each speaker is the test set once; the early-stopping val
  set is drawn from the other speakers' recordings.
- ``kfold``: k stratified folds over the original recordings. Fold membership is decided
  per source utterance, so all 7 clips of a recording fall on one side.
- ``leaky``: the report's protocol under k folds: folds over all clips after augmentation,
  so copies of a test recording are trained on. Only to measure the inflation.

In every leak-free fold, augmented copies follow their source recording and are trained
on only; val and test hold original recordings.
"""
from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold, train_test_split

from emoser.core.errors import EmoserError
from emoser.params.cv import CvParams
from emoser.params.split import SplitParams
from emoser.protocols.names import HOLDOUT, LEAKY
from emoser.protocols.split import apart_duplicates, assign_subsets, check_emotions, follow_source

log = logging.getLogger(__name__)
COLUMNS = ["protocol", "fold", "clip", "subset"]


def _with_val(train_part: pd.DataFrame, val_fraction: float, seed: int) -> pd.Series:
    """'train'/'val' per row of ``train_part``: a stratified val share, the rest train."""
    check_emotions(train_part, 2, "a fold's training recordings (stage folds)",
                   "2 to draw its validation share from")
    classes = train_part["emotion"].nunique()
    # at least one val recording per emotion, so that small corpora still stratify
    n_val = max(math.ceil(val_fraction * len(train_part)), classes)
    if len(train_part) - n_val < classes:
        raise ValueError(f"a fold has only {len(train_part)} training recordings for {classes} emotions; "
                         "use fewer folds or a larger corpus")
    train, val = train_test_split(train_part.index.to_numpy(dtype=object), test_size=n_val,
                                  stratify=train_part["emotion"], random_state=seed)
    return pd.concat([pd.Series("train", index=train), pd.Series("val", index=val)])


def _fold_table(clips: pd.DataFrame, protocol: str, fold: str, side: pd.Series) -> pd.DataFrame:
    """A fold's rows; in a leak-free protocol the same audio under two names stays on one side."""
    subset = follow_source(clips, apart_duplicates(side, clips)) if protocol != "leaky" else side
    return pd.DataFrame({"protocol": protocol, "fold": fold, "clip": subset.index, "subset": subset.to_numpy()})


def loso_folds(clips: pd.DataFrame, params: CvParams) -> list[pd.DataFrame]:
    originals = clips[clips["kind"] == "original"].set_index("utterance", drop=False)
    check_loso(originals)
    tables = []
    for speaker in sorted(originals["speaker"].unique()):
        held_out = originals["speaker"] == speaker
        check_emotions(originals[~held_out], 2, f"cv protocol loso (stage folds), speaker {speaker!r} held out",
                       "the other speakers need 2 of each emotion to train and validate on")
        side = pd.concat([pd.Series("test", index=originals.index[held_out]),
                          _with_val(originals[~held_out], params.val_fraction, params.seed)])
        tables.append(_fold_table(clips, "loso", speaker, side))
    return tables


def check_loso(originals: pd.DataFrame) -> None:
    """LOSO needs two speakers or more, each with two recordings or more (one recording cannot be
    standardised by its speaker's statistics, nor scored as a speaker)."""
    counts = originals.groupby("speaker").size()
    if len(counts) < 2:
        raise EmoserError(f"cv protocol loso (stage folds): the corpus has {len(counts)} speaker(s); "
                          "leave-one-speaker-out needs two or more")
    single = counts[counts < 2]
    if len(single):
        raise EmoserError(f"cv protocol loso (stage folds): speaker {single.index[0]!r} has only one recording "
                          f"({originals.loc[originals['speaker'] == single.index[0], 'utterance'].iloc[0]}); "
                          "LOSO needs two or more per speaker (drop it from the corpus, or leave loso out)")


def _stratified_folds(table: pd.DataFrame, protocol: str, clips: pd.DataFrame, params: CvParams
                      ) -> list[pd.DataFrame]:
    check_emotions(table, max(params.k, 3), f"cv protocol {protocol} (stage folds)",
                   f"one in each of cv.k {params.k} test folds and 2 to train on")
    splitter = StratifiedKFold(n_splits=params.k, shuffle=True, random_state=params.seed)
    tables = []
    for number, (rest, test) in enumerate(splitter.split(np.zeros(len(table)), table["emotion"]), start=1):
        side = pd.concat([pd.Series("test", index=table.index[test]),
                          _with_val(table.iloc[rest], params.val_fraction, params.seed)])
        tables.append(_fold_table(clips, protocol, f"{number}", side))
    return tables


def make_folds(clips: pd.DataFrame, params: CvParams) -> pd.DataFrame:
    """Every requested protocol's folds: one row per (protocol, fold, clip) with its subset."""
    tables = []
    for protocol in params.protocols:
        if protocol == "loso":
            tables += loso_folds(clips, params)
        elif protocol == "kfold":
            originals = clips[clips["kind"] == "original"].set_index("utterance", drop=False)
            tables += _stratified_folds(originals, "kfold", clips, params)
        elif protocol == "leaky":
            tables += _stratified_folds(clips.set_index("clip", drop=False), "leaky", clips, params)
        else:
            raise ValueError(f"unknown cv protocol {protocol!r}")
    return pd.concat(tables, ignore_index=True)[COLUMNS]


def recording_folds(manifest: pd.DataFrame, params: CvParams, split: SplitParams | None, every_protocol: bool
                    ) -> pd.DataFrame:
    """A corpus's folds over its original recordings (``manifest``), for the classical models: LOSO;
    with ``every_protocol`` each leak-free protocol of ``params.protocols``, and with ``split`` the
    hold-out split (protocol ``holdout``, fold: the split's protocol; none for the leaky split). These
    are the networks' folds (``make_folds`` over clips) and split restricted to the recordings, row for
    row: copies only ever train, and each fold is decided over the original recordings."""
    recordings = manifest.assign(clip=manifest["utterance"], kind="original")
    protocols = tuple(p for p in params.protocols if p != LEAKY) if every_protocol else ("loso",)
    tables = [make_folds(recordings, params.model_copy(update={"protocols": protocols}))] if protocols else []
    if split is not None and split.protocol != LEAKY:
        subset = assign_subsets(recordings, split)
        tables.append(pd.DataFrame({"protocol": HOLDOUT, "fold": split.protocol, "clip": subset.index,
                                    "subset": subset.to_numpy()}))
    return pd.concat(tables, ignore_index=True)[COLUMNS] if tables else pd.DataFrame(columns=COLUMNS)


def fold_names(folds: pd.DataFrame, protocol: str) -> list[str]:
    return list(dict.fromkeys(folds.loc[folds["protocol"] == protocol, "fold"]))

