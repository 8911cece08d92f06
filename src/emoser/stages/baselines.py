"""Stage baselines: SVMs on openSMILE functionals (``baselines.models``), with and without speaker
standardisation, under the hold-out split and every leak-free cv protocol, on the same folds as
the networks -> data/cv/baselines.json (published by report as metrics/baselines.json), data/cv/baselines.csv.

    python -m emoser.stages.baselines
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import load_recordings_and_folds, publish, summarise_recordings
from emoser.features.functionals import Functionals
from emoser.models.classical.svm import run_baselines
from emoser.params.baselines import BaselinesParams
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.split import SplitParams


class Params(Section):
    split: SplitParams
    evaluate: EvaluateParams
    cv: CvParams
    baselines: BaselinesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    manifest, table = load_recordings_and_folds(params.split.protocol)
    feature_sets = {m.feature_set for m in params.baselines.models.values()}
    functionals = {s: Functionals.load(paths.OPENSMILE / f"{s}.npz") for s in feature_sets}
    predictions = run_baselines(manifest, functionals, table, params.baselines.models,
                                params.baselines.speaker_standardisation, params.baselines.jobs)
    summary = summarise_recordings(predictions, manifest, params.evaluate, params.split.protocol)
    publish(summary, predictions, paths.BASELINE_PREDICTIONS, paths.BASELINE_SUMMARY)


if __name__ == "__main__":
    main()
