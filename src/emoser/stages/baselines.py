"""Stage baselines: SVMs on openSMILE functionals (``baselines.models``), with and without speaker
standardisation, under the hold-out split and every leak-free cv protocol, on the same folds as
the networks -> data/cv/baselines.json (published by report as metrics/baselines.json), data/cv/baselines.csv;
a further corpus under LOSO -> data/corpora/NAME/cv/.

    python -m emoser.stages.baselines [--corpus NAME]
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
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    name = parser.parse_args(argv).corpus
    corpus = paths.corpus_data(name)
    params = load_params(Params)
    split_protocol = params.split.protocol if name is None else None
    manifest, table = load_recordings_and_folds(split_protocol, corpus)
    feature_sets = {m.feature_set for m in params.baselines.models.values()}
    functionals = {s: Functionals.load(corpus.opensmile / f"{s}.npz") for s in feature_sets}
    predictions = run_baselines(manifest, functionals, table, params.baselines.models,
                                params.baselines.speaker_standardisation, params.baselines.jobs)
    summary = summarise_recordings(predictions, manifest, params.evaluate, split_protocol)
    publish(summary, predictions, corpus.cv / paths.BASELINE_PREDICTIONS.name, corpus.cv / paths.BASELINE_SUMMARY.name)


if __name__ == "__main__":
    main()
