"""Stage opensmile: openSMILE functionals of every original recording, for the SVM baselines.

The ``opensmile`` package ships its own SMILExtract binary and configs (eGeMAPS v02: 88
functionals; ComParE 2016: 6,373). Recordings are read at their own sample rate, as the
feature sets were designed; augmented copies are not used by the baselines. Both sets are
extracted whatever ``baselines.models`` uses, so changing an SVM never re-extracts.

    python -m emoser.smile
"""
from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from tqdm import tqdm

from . import paths
from .cli import EmoserError, progress_enabled, stage
from .files import atomic_dir, read_wav
from .parallel import compute_backend
from .params import OPENSMILE_SETS, load_params

log = logging.getLogger(__name__)
_smile_loaded = False


@dataclass(frozen=True)
class Functionals:
    """One vector per recording: openSMILE's functionals here, the voice encoder's in emoser.embeddings."""
    utterances: np.ndarray   # (n,) str
    names: np.ndarray        # (d,) str, the features' names
    values: np.ndarray       # (n, d) float32

    def save(self, path: Path) -> None:
        np.savez(path, utterances=self.utterances, names=self.names, values=self.values)

    @classmethod
    def load(cls, path: Path) -> "Functionals":
        with np.load(path, allow_pickle=False) as data:
            return cls(data["utterances"], data["names"], data["values"])

    def select(self, utterances) -> np.ndarray:
        wanted = list(utterances)
        index = pd.Index(self.utterances).get_indexer(wanted)
        if (index < 0).any():
            missing = [u for u, i in zip(wanted, index) if i < 0]
            raise EmoserError(f"{len(missing)} recordings have no features here (first: {missing[0]}); "
                              "rerun the stage that extracts them")
        return self.values[index]


def extractor(feature_set: str):
    """openSMILE set up for one feature set's functionals."""
    global _smile_loaded
    if "tensorflow" in sys.modules and not _smile_loaded:
        # Seen with opensmile 2.6 and TensorFlow 2.21: openSMILE's library, loaded after TensorFlow's,
        # aborts the process on its first signal. Loaded first, both work.
        raise EmoserError("openSMILE cannot start in a process that has already imported TensorFlow; "
                          "extract functionals in a separate process (as the stages and emoser.predict do)")
    import opensmile  # imported per worker: it starts nothing until used
    _smile_loaded = True
    return opensmile.Smile(feature_set=getattr(opensmile.FeatureSet, feature_set),
                           feature_level=opensmile.FeatureLevel.Functionals)


def functionals_of(smile, signal: np.ndarray, sample_rate: int) -> np.ndarray:
    """One recording's functionals (float32), at the recording's own sample rate."""
    return smile.process_signal(signal, sample_rate).to_numpy(dtype=np.float32)[0]


def _extract_batch(feature_set: str, files: list[Path]) -> tuple[list[str], np.ndarray]:
    smile = extractor(feature_set)   # one set-up per batch, not per file
    rows = [functionals_of(smile, *read_wav(path)) for path in files]
    return list(smile.feature_names), np.stack(rows)


def extract(files: list[Path], utterances: list[str], feature_set: str, jobs: int = -1,
            batch: int = 16) -> Functionals:
    batches = [files[i:i + batch] for i in range(0, len(files), batch)]
    results = Parallel(n_jobs=jobs, return_as="generator")(
        delayed(_extract_batch)(feature_set, part) for part in batches)
    names, values = None, []
    for batch_names, batch_values in tqdm(results, total=len(batches), desc=feature_set,
                                          disable=not progress_enabled()):
        names = batch_names
        values.append(batch_values)
    return Functionals(np.asarray(utterances), np.asarray(names), np.concatenate(values))


@stage
def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    manifest = pd.read_csv(paths.MANIFEST, dtype={"speaker": str})
    files = [(paths.RAW / "wav" / name).resolve() for name in manifest["file"]]  # absolute: see parallel
    # Every supported set, whichever the baselines use now: a change of SVM never re-extracts.
    with compute_backend(params.compute), atomic_dir(paths.OPENSMILE) as staging:
        for feature_set in OPENSMILE_SETS:
            functionals = extract(files, manifest["utterance"].tolist(), feature_set, params.baselines.jobs)
            if not np.isfinite(functionals.values).all():
                raise EmoserError(f"{feature_set}: openSMILE returned non-finite values")
            functionals.save(staging / f"{feature_set}.npz")
            log.info("%s: %d recordings x %d functionals", feature_set, *functionals.values.shape)


if __name__ == "__main__":
    main()
