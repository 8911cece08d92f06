"""All of params.yaml at once: every section's schema (each in its own module of ``emoser.params``)
and the checks that span sections. For ``emoser params`` and the tests; the stages each load only
their own sections (``emoser.core.config.load_params``), so that they depend on little.

    emoser params [params.yaml]          # or python -m emoser.params.file
"""
from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import model_validator

from emoser.core.config import DEFAULT_PARAMS, Section, load_params
from emoser.core.runtime import entry_point
from emoser.params.audio import AudioParams
from emoser.params.augment import AugmentParams
from emoser.params.baselines import BaselinesParams
from emoser.params.compute import ComputeParams, ExtractParams
from emoser.params.corpora import CorpusParams, RolesParams, check_corpora
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.features import FeatureParams, check_denoise_once
from emoser.params.loco import LocoParams
from emoser.params.mlflow import MlflowParams
from emoser.params.networks import ArchitectureParams, ModelParams, TrainParams, check_networks_fit
from emoser.params.ours import OursParams
from emoser.params.split import SplitParams
from emoser.params.whisper import WhisperParams

__all__ = ["Params", "load_all", "main"]


class Params(Section):
    corpora: dict[str, CorpusParams]
    roles: RolesParams
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    architectures: ArchitectureParams
    evaluate: EvaluateParams
    cv: CvParams
    opensmile: ExtractParams
    embeddings: ExtractParams
    baselines: BaselinesParams
    whisper: WhisperParams
    ours: OursParams
    loco: LocoParams
    mlflow: MlflowParams
    compute: ComputeParams

    @model_validator(mode="after")
    def _across_sections(self):
        check_corpora(self.corpora, self.roles)
        check_denoise_once(self.augment.denoise, self.features.denoise)
        check_networks_fit(self.features.n_mfcc + 1, self.features.frames, self.architectures)
        check_whisper_layers(self.ours.whisper_layers, self.whisper.layers, "whisper" in self.ours.fusion.views)
        return self


def check_whisper_layers(used, stored, fused: bool) -> None:
    """Our model reads only layers that extractor whisper stores."""
    missing = sorted(set(used) - set(stored))
    if fused and missing:
        raise ValueError(f"ours.whisper_layers: layer(s) {missing} are not in whisper.layers {list(stored)}")


def load_all(path: Path | str = DEFAULT_PARAMS) -> Params:
    """Every section of params.yaml, validated; ParamsError naming each bad key."""
    return load_params(Params, path)


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PARAMS, help="the params file to check")
    args = parser.parse_args(argv)
    load_all(args.path)
    print(f"{args.path}: every section is valid")


if __name__ == "__main__":
    main()
