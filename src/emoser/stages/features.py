"""Stage features: 40 MFCCs + a log-energy row per clip, cut or zero-padded to ``features.frames``,
stored unnormalised with each clip's real frame count -> data/features/ (features.npy streamed to
disk clip by clip, clips.npy, n_frames.npy).

    python -m emoser.stages.features
"""
from __future__ import annotations

import argparse
import logging

import numpy as np
from pydantic import model_validator

from emoser import paths
from emoser.audio import AudioParams
from emoser.augmentation import AugmentParams
from emoser.config import Section, load_params
from emoser.dataset import write_features
from emoser.features import FeatureParams, check_denoise_once, extract_each
from emoser.files import read_clips
from emoser.parallel import ComputeParams, compute_backend
from emoser.runtime import entry_point

log = logging.getLogger(__name__)


class Params(Section):
    audio: AudioParams
    augment: AugmentParams     # only to refuse denoising twice
    features: FeatureParams
    compute: ComputeParams

    @model_validator(mode="after")
    def _denoise_once(self):
        check_denoise_once(self.augment.denoise, self.features.denoise)
        return self


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    clips = read_clips()
    files = [(paths.AUGMENTED / "wav" / f"{c}.wav").resolve() for c in clips["clip"]]  # absolute: see parallel
    shape = (params.features.n_mfcc + 1, params.features.frames)
    with compute_backend(params.compute):
        n_frames = write_features(paths.FEATURES, clips["clip"].to_numpy(dtype=str),
                                  extract_each(files, params.audio.sample_rate, params.features), shape)
    log.info("features %s for %d clips; %.0f%% fill all %d frames", shape, len(clips),
             100 * np.mean(n_frames == params.features.frames), params.features.frames)


if __name__ == "__main__":
    main()
