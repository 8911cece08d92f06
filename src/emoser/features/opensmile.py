"""openSMILE functionals of a recording, for the SVM baselines and our model (extractor opensmile).

The ``opensmile`` package ships its own SMILExtract binary and configs (eGeMAPS v02: 88
functionals; ComParE 2016: 6,373). Recordings are read at their own sample rate, as the
feature sets were designed; augmented copies are not used by the baselines. Both sets are
extracted whatever ``baselines.models`` uses, so changing an SVM never re-extracts.
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from tqdm import tqdm

from emoser.audio.io import read
from emoser.core.errors import EmoserError
from emoser.features.functionals import Functionals

log = logging.getLogger(__name__)
_smile_loaded = False


def extractor(feature_set: str):
    """openSMILE set up for one feature set's functionals."""
    global _smile_loaded
    if "tensorflow" in sys.modules and not _smile_loaded:
        # Seen with opensmile 2.6 and TensorFlow 2.21: openSMILE's library, loaded after TensorFlow's,
        # aborts the process on its first signal. Loaded first, both work.
        raise EmoserError("openSMILE cannot start in a process that has already imported TensorFlow; "
                          "extract functionals in a separate process (as the stages and emoser.serving.predict do)")
    import opensmile  # imported per worker: it starts nothing until used
    _smile_loaded = True
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                           feature_level=opensmile.FeatureLevel.Functionals)


def functionals_of(smile, signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """One recording's functionals (float32), at the recording's own sample rate."""
    return smile.process_signal(signal, sample_rate).to_numpy(dtype=np.float32)[0]


def _extract_batch(feature_set: str, files: list[Path]) -> tuple[list[str], np.ndarray]:
    smile = extractor(feature_set)   # one set-up per batch, not per file
    rows = [functionals_of(smile, *read(path)) for path in files]
    return list(smile.feature_names), np.stack(rows)


def extract(files: list[Path], utterances: list[str], feature_set: str, jobs: int = -1,
            batch: int = 16) -> Functionals:
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_extract_batch)(feature_set, part) for part in batches)
    names, values = None, []
    for batch_names, batch_values in tqdm(results, total=len(batches), desc=feature_set,
                                          disable=None):
        names = batch_names
        values.append(batch_values)
    return Functionals(np.asarray(utterances), np.asarray(names), np.concatenate(values))

