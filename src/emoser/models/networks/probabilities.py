"""Each trained network's probabilities on its hold-out test clips, saved beside it by stage train (the
training task computes them anyway) and read by stage evaluate, which so never starts TensorFlow: its
import alone is ~3.5 s of a 6-s stage, and the evaluations run five times per sweep (stages with a
``cache: false`` output miss DVC's run cache). A network saved without the table (before it existed)
is loaded and run instead.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path
from emoser.features.dataset import Subset
from emoser.models.networks.saved import TEST_PROBABILITIES


def write_test_probabilities(folder: Path, clips: list[str] | pd.Series, probabilities: np.ndarray,
                             emotions: list[str]) -> None:
    """The network's probabilities on its test clips, as ``folder``/TEST_PROBABILITIES (float32 written
    with 9 significant digits: read back, the same numbers to the last bit)."""
    table = pd.DataFrame(np.asarray(probabilities, dtype=np.float32), columns=emotions)
    table.insert(0, "clip", np.asarray(clips))
    with atomic_path(folder / TEST_PROBABILITIES) as tmp:
        table.to_csv(tmp, index=False, float_format="%.9g", lineterminator="\n")


def saved_probabilities(folder: Path, test: Subset) -> np.ndarray:
    """(test clips, emotions): the saved network's probabilities on ``test``, in its order: stage
    train's table where it wrote one, else the network loaded and run (TensorFlow)."""
    stored = folder / TEST_PROBABILITIES
    if not stored.is_file():
        from emoser.models.networks.architectures import Bundle  # TensorFlow: only for an older model
        return Bundle.load(folder).predict_proba(test.features, test.n_frames)
    table = pd.read_csv(stored, dtype={"clip": str}).set_index("clip")
    clips = test.clips["clip"].astype(str)
    if set(table.index) != set(clips) or len(table) != len(clips):
        raise EmoserError(f"{stored}: its {len(table)} clips are not the split's {len(clips)} test clips "
                          "(the network was trained on another split): rerun stage train")
    return table.loc[clips.to_numpy()].to_numpy(dtype=np.float32)
