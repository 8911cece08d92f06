"""Stage train: one network, named by arch and loss (the four variants are one code path)
-> models/NAME/ and plots/NAME/history.csv.

    python -m emoser.stages.train --name study/cnn-mse --arch cnn --loss mse
    python -m emoser.stages.train --name model                       # the shipped model: model.arch/loss
    python -m emoser.stages.train --name model --copy-of study/cnn-cce

The shipped model is always one of the study's four variants, trained by the same code from the
same params and seed, so it has the same bytes: the pipeline copies it (``--copy-of``, checked
to be that variant) instead of training the same network twice, without starting TensorFlow.
"""
from __future__ import annotations

import argparse
import shutil

from pydantic import model_validator

from emoser import paths
from emoser.audio import AudioParams
from emoser.augmentation import AugmentParams
from emoser.config import Section, flatten, load_params
from emoser.dataset import load_subsets
from emoser.errors import EmoserError
from emoser.features import FeatureParams
from emoser.files import atomic_path, write_csv
from emoser.model_files import copy_saved, read_facts
from emoser.parallel import ComputeParams
from emoser.runtime import entry_point
from emoser.splitting import SplitParams
from emoser.variants import ARCHS, LOSSES, ArchitectureParams, ModelParams, TrainParams, check_frames_fit_chunks

# The params a trained model depends on, recorded in its bundle (and logged to MLflow): the stages
# upstream of it and its own. Not fetch (where the corpus came from is machine-specific; its checksum
# is in dvc.lock), nor model.* (the variant's arch and loss are recorded as such), nor what comes after.
MODEL_PARAM_SECTIONS = ("audio", "augment", "features", "split", "train", "architectures")


class Params(Section):
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    architectures: ArchitectureParams
    compute: ComputeParams

    @model_validator(mode="after")
    def _frames_fit_chunks(self):
        check_frames_fit_chunks(self.features.frames, self.architectures)
        return self


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="output name: models/NAME, plots/NAME")
    parser.add_argument("--arch", choices=ARCHS, help="override model.arch (the study variants)")
    parser.add_argument("--loss", choices=LOSSES, help="override model.loss (the study variants)")
    parser.add_argument("--copy-of", metavar="NAME", help="copy models/NAME, the variant already trained with "
                                                          "this arch and loss, instead of training it again")
    args = parser.parse_args(argv)
    params = load_params(Params)
    arch, loss = args.arch or params.model.arch, args.loss or params.model.loss
    made_from = {k: v for k, v in flatten(params).items() if k.split(".")[0] in MODEL_PARAM_SECTIONS}
    if args.copy_of:
        copy_trained(args.copy_of, args.name, arch, loss, made_from)
        return
    from emoser.training import shipped_facts, train_variant, use_threads  # TensorFlow: only to train

    use_threads(params.compute.threads_per_task)
    data = load_subsets(("train", "val"))
    bundle, history = train_variant(args.name, arch, loss, params.train, params.architectures,
                                    params.features.normalisation, data["train"], data["val"])
    bundle.facts = shipped_facts(bundle.facts, params.audio.sample_rate, params.features.model_dump(),
                                 params.split.protocol, made_from)
    bundle.save(paths.MODELS / args.name)
    write_csv(paths.PLOTS / args.name / "history.csv", history.round(6))


def copy_trained(source: str, name: str, arch: str, loss: str, made_from: dict) -> None:
    """models/SOURCE as models/NAME (and its history), once its facts say it is this (arch, loss)."""
    facts = read_facts(paths.MODELS / source)
    if (facts["arch"], facts["loss"]) != (arch, loss):
        raise EmoserError(f"--copy-of {source}: that model is {facts['arch']}-{facts['loss']}, not {arch}-{loss}")
    # params as this stage would record them (the source's may predate a change to another variant's section)
    copy_saved(paths.MODELS / source, paths.MODELS / name, name=name, params=made_from)
    with atomic_path(paths.PLOTS / name / "history.csv") as tmp:
        shutil.copyfile(paths.PLOTS / source / "history.csv", tmp)


if __name__ == "__main__":
    main()
