"""Stage embeddings: a pretrained voice encoder (Resemblyzer's GE2E, shipped in its wheel) on every
original recording: mean and std over frames of its last LSTM layer -> data/embeddings/voice_encoder.npz
(a further corpus: data/corpora/NAME/embeddings/).

    python -m emoser.stages.embeddings [--corpus NAME]
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
from emoser.features.voice_encoder import extract
from emoser.params.compute import ComputeParams, ExtractParams

log = logging.getLogger(__name__)


class Params(Section):
    embeddings: ExtractParams
    compute: ComputeParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    corpus = paths.corpus_data(parser.parse_args(argv).corpus)
    params = load_params(Params)
    manifest, files = original_recordings(corpus.manifest)
    with compute_backend(params.compute), atomic_dir(corpus.voice_encoder.parent) as staging:
        embeddings = extract(files, manifest["utterance"].tolist(), params.embeddings.jobs)
        if not np.isfinite(embeddings.values).all():
            raise EmoserError("the voice encoder returned non-finite values")
        embeddings.save(staging / corpus.voice_encoder.name)
        log.info("voice encoder: %d recordings x %d values", *embeddings.values.shape)


if __name__ == "__main__":
    main()
