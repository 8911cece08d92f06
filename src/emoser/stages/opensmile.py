"""Stage opensmile: openSMILE functionals (every set in OPENSMILE_SETS) of every original recording,
at its own sample rate -> data/opensmile/<set>.npz (a further corpus: data/corpora/NAME/opensmile/).

    python -m emoser.stages.opensmile [--corpus NAME]
"""
from __future__ import annotations

import argparse
import logging

import numpy as np

from emoser.compute.backend import compute_backend
from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir, original_recordings
from emoser.core.runtime import entry_point
from emoser.features.opensmile import extract
from emoser.params.compute import ComputeParams, ExtractParams
from emoser.params.opensmile import OPENSMILE_SETS

log = logging.getLogger(__name__)


class Params(Section):
    opensmile: ExtractParams
    compute: ComputeParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    corpus = paths.corpus_data(parser.parse_args(argv).corpus)
    params = load_params(Params)
    manifest, files = original_recordings(corpus.manifest)
    # Every supported set, whichever the baselines use now: a change of SVM never re-extracts.
    with compute_backend(params.compute), atomic_dir(corpus.opensmile) as staging:
        for feature_set in OPENSMILE_SETS:
            functionals = extract(files, manifest["utterance"].tolist(), feature_set, params.opensmile.jobs)
            if not np.isfinite(functionals.values).all():
                raise EmoserError(f"{feature_set}: openSMILE returned non-finite values")
            functionals.save(staging / f"{feature_set}.npz")
            log.info("%s: %d recordings x %d functionals", feature_set, *functionals.values.shape)


if __name__ == "__main__":
    main()
