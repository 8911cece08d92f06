"""Stage baselines: SVMs on openSMILE functionals (``baselines.models``), with and without speaker
standardisation, in every fold of corpus NAME (stage folds: the networks' corpus also under the
hold-out split and every leak-free cv protocol, on the same folds as the networks)
-> data/study/NAME/cv/baselines.{csv,json} (the networks' corpus's: published by report as metrics/baselines.json).

    python -m emoser.stages.baselines --corpus NAME
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import load_recordings_and_folds, publish, split_protocol_of, summarise_recordings
from emoser.features.functionals import Functionals
from emoser.models.classical.svm import run_baselines
from emoser.params.baselines import BaselinesParams
from emoser.params.evaluate import EvaluateParams


class Params(Section):
    evaluate: EvaluateParams
    baselines: BaselinesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    corpus = paths.corpus_data(parser.parse_args(argv).corpus)
    params = load_params(Params)
    manifest, table = load_recordings_and_folds(corpus)
    feature_sets = {m.feature_set for m in params.baselines.models.values()}
    functionals = {s: Functionals.load(corpus.opensmile / f"{s}.npz") for s in feature_sets}
    predictions = run_baselines(manifest, functionals, table, params.baselines.models,
                                params.baselines.speaker_standardisation, params.baselines.jobs)
    summary = summarise_recordings(predictions, manifest, params.evaluate, split_protocol_of(table))
    publish(summary, predictions, corpus.baseline_predictions, corpus.baseline_summary)


if __name__ == "__main__":
    main()
