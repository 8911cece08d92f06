"""Stage crosscorpus: the classical models (the SVM baselines and ours) trained on all of the main
corpus and scored on all of further corpus NAME, and the other way round, over the emotions both
have, with and without speaker standardisation -> data/corpora/NAME/cross/{predictions.csv,summary.json}.

    python -m emoser.stages.crosscorpus --corpus NAME
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_manifest
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import publish
from emoser.evaluation.scoring import summarise_predictions
from emoser.features.functionals import Functionals
from emoser.features.views import load_views
from emoser.models.classical.crosscorpus import Corpus, cross_corpus, shared_emotions
from emoser.params.baselines import BaselinesParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.fetch import FetchParams
from emoser.params.ours import OursParams

PREDICTIONS, SUMMARY = "predictions.csv", "summary.json"


class Params(Section):
    fetch: FetchParams
    evaluate: EvaluateParams
    baselines: BaselinesParams
    ours: OursParams


def cross_folder(name: str):
    return paths.corpus_data(name).root / "cross"


def load_corpus(name: str | None, label: str, feature_sets: set[str], ours: OursParams) -> Corpus:
    """The main corpus (``name`` None) or further corpus ``name``, called ``label`` in the results."""
    where = paths.corpus_data(name)
    manifest = read_manifest(where.manifest)
    return Corpus.load(label, manifest, {s: Functionals.load(where.opensmile / f"{s}.npz") for s in feature_sets},
                       load_views(where, ours, manifest["utterance"]))


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", required=True, help="the further corpus (params corpora.NAME)")
    name = parser.parse_args(argv).corpus
    params = load_params(Params)
    sets = {m.feature_set for m in params.baselines.models.values()} | {params.ours.feature_set}
    main_corpus = load_corpus(None, params.fetch.corpus, sets, params.ours)
    other = load_corpus(name, name, sets, params.ours)
    predictions = cross_corpus(main_corpus, other, params.baselines.models, params.ours,
                               params.baselines.speaker_standardisation)
    settings, summary = params.evaluate, {}
    for train, test in ((main_corpus, other), (other, main_corpus)):
        protocol = f"{train.name}→{test.name}"
        emotions = shared_emotions(train.manifest, test.manifest, (train.name, test.name))
        part = predictions[predictions["protocol"] == protocol]
        summary.update(summarise_predictions(part, emotions, settings.bootstrap_resamples, settings.seed,
                                             settings.ci_level))
        summary[protocol]["emotions"] = emotions
    publish(summary, predictions, cross_folder(name) / PREDICTIONS, cross_folder(name) / SUMMARY)


if __name__ == "__main__":
    main()
