"""Stage cv: the trained variants in ``cv.variants`` under every protocol in ``cv.protocols``
(same code as train/evaluate), pooled and per-fold scores, on the networks' corpus (``roles.networks``:
its augmented clips, in folds over them as ``emoser.protocols.folds.make_folds`` makes them)
-> data/study/NAME/cv/trained.json (published by report as metrics/cv.json), trained.csv
(their MLflow runs: stage track). Every fold's training is a task for ``compute``: here, local worker
processes, one per GPU, or a Dask cluster (the same predictions wherever it runs).

    python -m emoser.stages.cv
"""
from __future__ import annotations

import argparse

import pandas as pd
from pydantic import model_validator

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_clips, read_manifest
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import PREDICTION_COLUMNS, publish, summarise_recordings
from emoser.models.networks.crossval import cross_validate, fold_tasks
from emoser.models.networks.precision import training_precision
from emoser.params.compute import ComputeParams
from emoser.params.corpora import RolesParams
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.features import FeatureParams
from emoser.params.networks import ArchitectureParams, TrainParams, check_networks_fit
from emoser.protocols.folds import make_folds
from emoser.protocols.names import LEAKY, LEAKY_WARNING


class Params(Section):
    features: FeatureParams
    train: TrainParams
    architectures: ArchitectureParams
    evaluate: EvaluateParams
    cv: CvParams
    compute: ComputeParams
    roles: RolesParams

    @model_validator(mode="after")
    def _frames_fit_chunks(self):
        check_networks_fit(self.features.n_mfcc + 1, self.features.frames, self.architectures)
        return self


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpus = paths.corpus_data(params.roles.networks)
    clips, manifest = read_clips(corpus.clips), read_manifest(corpus.manifest)
    folds = make_folds(clips, params.cv)
    train = params.train.model_copy(update={"precision": training_precision(params.train.precision)})
    tasks = [task for variant in params.cv.variants for protocol in params.cv.protocols
             for task in fold_tasks(variant, protocol, train, params.architectures,
                                    params.features.normalisation, params.compute.threads_per_task, clips,
                                    corpus.features, folds)]
    predictions = (cross_validate(tasks, params.compute) if tasks
                   else pd.DataFrame(columns=[*PREDICTION_COLUMNS, "epochs_run"]))
    summary = summarise_recordings(predictions, manifest, params.evaluate)
    if LEAKY in summary:
        summary[LEAKY]["warning"] = LEAKY_WARNING
    publish(summary, predictions, corpus.cv_predictions, corpus.cv_summary)


if __name__ == "__main__":
    main()
