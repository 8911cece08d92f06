"""All of params.yaml at once: every section's schema (each defined beside the code that reads it)
and the checks that span sections. For ``emoser params`` and the tests; the stages each load only
their own sections (``emoser.config.load_params``), so that they depend on little.

    emoser params [params.yaml]          # or python -m emoser.params
"""
from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import model_validator

from .audio import AudioParams
from .augmentation import AugmentParams
from .config import DEFAULT_PARAMS, ParamsError, Section, flatten, load_params
from .features import FeatureParams, check_denoise_once
from .fetching import FetchParams
from .folds import CvParams
from .fusion import OursParams
from .parallel import ComputeParams
from .runtime import entry_point
from .scoring import EvaluateParams
from .splitting import SplitParams
from .svm_baselines import BaselineParams, BaselinesParams
from .tracking import MlflowParams
from .variants import ArchitectureParams, CnnLstmParams, CnnParams, ModelParams, TrainParams, check_networks_fit

__all__ = ["Params", "load_all", "main", "ParamsError", "flatten", "FetchParams", "AudioParams", "AugmentParams",
           "FeatureParams", "SplitParams", "ModelParams", "TrainParams", "ArchitectureParams", "CnnParams",
           "CnnLstmParams", "EvaluateParams", "CvParams", "BaselineParams", "BaselinesParams", "OursParams",
           "MlflowParams", "ComputeParams"]


class Params(Section):
    fetch: FetchParams
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    architectures: ArchitectureParams
    evaluate: EvaluateParams
    cv: CvParams
    baselines: BaselinesParams
    ours: OursParams
    mlflow: MlflowParams
    compute: ComputeParams

    @model_validator(mode="after")
    def _across_sections(self):
        check_denoise_once(self.augment.denoise, self.features.denoise)
        check_networks_fit(self.features.n_mfcc + 1, self.features.frames, self.architectures)
        return self


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
