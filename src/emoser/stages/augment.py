"""Stage augment: per utterance, the original plus pitch-shifted and time-stretched copies, each
recording denoised once first (``augment.denoise``), of the networks' corpus (``roles.networks``)
-> data/study/NAME/augmented/ (wav/, clips.csv).

    python -m emoser.stages.augment
"""
from __future__ import annotations

import argparse
import logging

from emoser.audio.augmentation import augment_corpus
from emoser.compute.backend import compute_backend
from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import atomic_dir, read_manifest
from emoser.core.runtime import entry_point
from emoser.params.audio import AudioParams
from emoser.params.augment import AugmentParams
from emoser.params.compute import ComputeParams
from emoser.params.corpora import RolesParams

log = logging.getLogger(__name__)


class Params(Section):
    audio: AudioParams
    augment: AugmentParams
    compute: ComputeParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpus = paths.corpus_data(params.roles.networks)
    manifest = read_manifest(corpus.manifest)
    with compute_backend(params.compute), atomic_dir(corpus.augmented) as staging:
        clips = augment_corpus(manifest, corpus.raw / "wav", staging, params.audio.sample_rate, params.augment)
        clips.to_csv(staging / corpus.clips.name, index=False)
    log.info("wrote %d clips from %d utterances", len(clips), len(manifest))


if __name__ == "__main__":
    main()
