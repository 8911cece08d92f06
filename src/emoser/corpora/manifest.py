"""What every stage may assume of a corpus's manifest (data/raw/manifest.csv, whatever its layout):
its emotions in label order, read from the table itself, never from a constant. Kept apart from the
layout readers (emoser.corpora.layouts) so that the stages reading a manifest do not depend on them."""
from __future__ import annotations

from typing import TYPE_CHECKING

from emoser.core.errors import EmoserError

if TYPE_CHECKING:   # numpy and pandas where used: stage sources, run by every `dvc repro`, reads no table
    import pandas as pd


def emotion_order(manifest: pd.DataFrame) -> tuple[str, ...]:
    """The emotions of a manifest (or any table with ``emotion`` and ``label`` columns) in label order.

    Labels must be 0..n-1, each naming one emotion and each emotion having one label."""
    missing = [c for c in ("emotion", "label") if c not in manifest]
    if missing:
        raise EmoserError(f"no {' or '.join(missing)} column: a manifest names each recording's emotion and label")
    import numpy as np

    pairs = manifest[["label", "emotion"]].drop_duplicates()
    labels = pairs["label"].tolist()
    if not all(isinstance(v, int | np.integer) and not isinstance(v, bool | np.bool_) for v in labels):
        raise EmoserError(f"labels {sorted(map(str, set(labels)))} are not all whole numbers")
    for column, other in (("label", "emotion"), ("emotion", "label")):
        twice = pairs[pairs[column].duplicated(keep=False)]
        if len(twice):
            value = twice[column].tolist()[0]
            names = sorted(map(str, twice.loc[twice[column] == value, other]))
            raise EmoserError(f"{column} {value!r} has several {other}s: {', '.join(names)}")
    ordered = pairs.sort_values("label")
    if ordered["label"].tolist() != list(range(len(ordered))):
        raise EmoserError(f"labels are {ordered['label'].tolist()}: expected 0..{len(ordered) - 1}, one per emotion")
    return tuple(str(e) for e in ordered["emotion"])
