"""Stage train: one network, named by arch and loss (the four variants are one code path), trained
once per seed (``train.replicates`` seeds from ``train.seed``: replicates) -> models/NAME/ (the named
seed ``train.seed``'s network and its history.csv) and models/NAME/replicates/seed-S/ (every seed's).

    python -m emoser.stages.train --name study/cnn-mse --arch cnn --loss mse
    python -m emoser.stages.train --name model                       # the shipped model: model.arch/loss
    python -m emoser.stages.train --name model --copy-of study/cnn-cce

Each replicate is a training task for ``compute`` (as cv's folds: here, worker processes, GPUs or
Dask; the same bytes wherever it ran). What ships (models/NAME, and so ``emoser predict --model
models/model``) is the network of the named seed ``train.seed``; the other seeds are the evidence
that reviews and the report judge the training procedure by (stage evaluate scores every one).

The shipped model is always one of the study's four variants, trained by the same code from the
same params and seed, so it has the same bytes: the pipeline copies it (``--copy-of``, checked
to be that variant) instead of training the same network twice, without starting TensorFlow.
"""
from __future__ import annotations

import argparse
import logging
import shutil

from pydantic import model_validator

from emoser.core import paths
from emoser.core.config import Section, flatten, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import read_clips, read_split
from emoser.core.runtime import entry_point
from emoser.models.networks.precision import training_precision
from emoser.models.networks.probabilities import write_test_probabilities
from emoser.models.networks.saved import REPLICATES, copy_saved, read_facts, replicate_folder
from emoser.params.audio import AudioParams
from emoser.params.augment import AugmentParams
from emoser.params.compute import ComputeParams
from emoser.params.corpora import RolesParams
from emoser.params.features import FeatureParams
from emoser.params.networks import ARCHS, LOSSES, ArchitectureParams, ModelParams, TrainParams, check_networks_fit
from emoser.params.split import SplitParams

# The params a trained model depends on, recorded in its bundle (and logged to MLflow): the stages
# upstream of it and its own. Not corpora (where the corpus came from is machine-specific; its checksum
# is in dvc.lock), nor model.* (the variant's arch and loss are recorded as such), nor what comes after.
MODEL_PARAM_SECTIONS = ("audio", "augment", "features", "split", "train", "architectures")
log = logging.getLogger(__name__)


class Params(Section):
    audio: AudioParams
    augment: AugmentParams
    features: FeatureParams
    split: SplitParams
    model: ModelParams
    train: TrainParams
    architectures: ArchitectureParams
    compute: ComputeParams
    roles: RolesParams

    @model_validator(mode="after")
    def _frames_fit_chunks(self):
        check_networks_fit(self.features.n_mfcc + 1, self.features.frames, self.architectures)
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
    # a run's own params: not train.replicates (how many runs), which changes no run
    made_from = {k: v for k, v in flatten(params).items()
                 if k.split(".")[0] in MODEL_PARAM_SECTIONS and k != "train.replicates"}
    if args.copy_of:
        copy_trained(args.copy_of, args.name, arch, loss, made_from)
        return
    # the arithmetic the weights were made in (train.precision: auto resolved on this machine), recorded as such
    train = params.train.model_copy(update={"precision": training_precision(params.train.precision)})
    made_from["train.precision"] = train.precision
    train_replicates(args.name, arch, loss, params.model_copy(update={"train": train}), made_from)


def train_replicates(name: str, arch: str, loss: str, params: Params, made_from: dict) -> None:
    """One training task per seed (``TrainParams.seeds``), each saved to models/NAME/replicates/seed-S/;
    then the named seed's network copied to models/NAME/ (what ships). Stale replicates are removed."""
    from emoser.models.networks.tasks import TrainingTask, run_trainings  # TensorFlow: only to train

    folder = paths.MODELS / name
    corpus = paths.corpus_data(params.roles.networks)   # its augmented clips, their features and split
    split = read_split(corpus.split).set_index("clip")["subset"]
    clips = read_clips(corpus.clips)
    shipped = {"sample_rate": params.audio.sample_rate, "features": params.features.model_dump(),
               "protocol": params.split.protocol}
    tasks = [TrainingTask(f"{arch}-{loss}", params.split.protocol, f"seed {seed}", clips, split,
                      corpus.features.resolve(), params.train.model_copy(update={"seed": seed}), params.architectures,
                      params.features.normalisation, params.compute.threads_per_task,
                      save_to=replicate_folder(folder, seed).resolve(),
                      shipped={**shipped, "params": {**made_from, "train.seed": seed}}, name=name)
             for seed in params.train.seeds]
    if (folder / REPLICATES).exists():
        shutil.rmtree(folder / REPLICATES)
    results = run_trainings(tasks, params.compute)
    for seed, result in zip(params.train.seeds, results):
        log.info("%s seed %d: %d epochs, %.0f s on %s", name, seed, int(result.predictions["epochs_run"].iloc[0]),
                 result.seconds, result.ran_on)
        # the task predicted the test clips anyway: stage evaluate scores this table, without TensorFlow
        emotions = read_facts(replicate_folder(folder, seed))["emotions"]
        write_test_probabilities(replicate_folder(folder, seed), _test_clips(result, clips, split),
                                 result.probabilities, emotions)
    copy_saved(replicate_folder(folder, params.train.seed), folder)


def _test_clips(result, clips, split) -> list[str]:
    """The clips of ``result``'s rows: the split's test clips in the clips table's order, as the task
    assembled them (``emoser.features.dataset.assemble``), checked against its rows' recordings."""
    test = clips[clips["clip"].map(split) == "test"]
    if test["utterance"].tolist() != result.predictions["utterance"].tolist():
        raise EmoserError(f"stage train: the task's {len(result.predictions)} test predictions are not the "
                          f"split's {len(test)} test clips in order")
    return test["clip"].tolist()


def copy_trained(source: str, name: str, arch: str, loss: str, made_from: dict) -> None:
    """models/SOURCE's network (the named seed's) as models/NAME, once its facts say it is this
    (arch, loss). Its replicates stay with the source (stage evaluate and reviews read them there)."""
    facts = read_facts(paths.MODELS / source)
    if (facts["arch"], facts["loss"]) != (arch, loss):
        raise EmoserError(f"--copy-of {source}: that model is {facts['arch']}-{facts['loss']}, not {arch}-{loss}")
    # params as this stage would record them (the source's may predate a change to another variant's section),
    # and the arithmetic the source's weights were made in
    made_from = {**made_from, "train.precision": facts["params"].get("train.precision", made_from["train.precision"])}
    copy_saved(paths.MODELS / source, paths.MODELS / name, name=name, params=made_from)


if __name__ == "__main__":
    main()
