"""Stage embeddings: a pretrained voice encoder (Resemblyzer's GE2E, shipped in its wheel) on every
original recording: mean and std over frames of its last LSTM layer -> data/embeddings/voice_encoder.npz.

    python -m emoser.stages.embeddings
"""
from __future__ import annotations

import argparse
import logging

import numpy as np

from emoser.compute.backend import compute_backend
from emoser.core import paths
from emoser.core.config import JobsOnly, Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir, original_recordings
from emoser.core.runtime import entry_point
from emoser.features.voice_encoder import extract
from emoser.params.compute import ComputeParams

log = logging.getLogger(__name__)


class Params(Section):
    ours: JobsOnly
    compute: ComputeParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    manifest, files = original_recordings()
    with compute_backend(params.compute), atomic_dir(paths.EMBEDDINGS) as staging:
        embeddings = extract(files, manifest["utterance"].tolist(), params.ours.jobs)
        if not np.isfinite(embeddings.values).all():
            raise EmoserError("the voice encoder returned non-finite values")
        embeddings.save(staging / paths.VOICE_ENCODER.name)
        log.info("voice encoder: %d recordings x %d values", *embeddings.values.shape)


if __name__ == "__main__":
    main()
