"""Stage features: 40 MFCCs + a log-energy row per clip, cut or zero-padded to ``features.frames``,
stored unnormalised with each clip's real frame count, of the networks' corpus (``roles.networks``)
-> data/study/NAME/features/ (features.npy streamed to disk clip by clip, clips.npy, n_frames.npy).

    python -m emoser.stages.features
"""
from __future__ import annotations

import argparse
import logging

import numpy as np
from pydantic import model_validator

from emoser.compute.backend import compute_backend
from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_clips
from emoser.core.runtime import entry_point
from emoser.features.dataset import write_features
from emoser.features.frames import extract_each
from emoser.params.audio import AudioParams
from emoser.params.augment import AugmentParams
from emoser.params.compute import ComputeParams
from emoser.params.corpora import RolesParams
from emoser.params.features import FeatureParams, check_denoise_once

log = logging.getLogger(__name__)


class Params(Section):
    audio: AudioParams
    augment: AugmentParams     # only to refuse denoising twice
    features: FeatureParams
    compute: ComputeParams
    roles: RolesParams

    @model_validator(mode="after")
    def _denoise_once(self):
        check_denoise_once(self.augment.denoise, self.features.denoise)
        return self


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpus = paths.corpus_data(params.roles.networks)
    clips = read_clips(corpus.clips)
    files = [(corpus.augmented / "wav" / f"{c}.wav").resolve() for c in clips["clip"]]  # absolute: see parallel
    shape = (params.features.n_mfcc + 1, params.features.frames)
    with compute_backend(params.compute):
        n_frames = write_features(corpus.features, clips["clip"].to_numpy(dtype=str),
                                  extract_each(files, params.audio.sample_rate, params.features), shape)
    log.info("features %s for %d clips; %.0f%% fill all %d frames", shape, len(clips),
             100 * np.mean(n_frames == params.features.frames), params.features.frames)


if __name__ == "__main__":
    main()
