"""Stage crosscorpus: the classical models (the SVM baselines and ours) trained on all of the
networks' corpus (``roles.networks``) and scored on all of corpus NAME, and the other way round,
over the emotions both have, with and without speaker standardisation
-> data/study/NAME/cross/{predictions.csv,summary.json}. For the networks' corpus itself: none
(an empty table and summary; its own scores are stage ours's and baselines's).

    python -m emoser.stages.crosscorpus --corpus NAME
"""
from __future__ import annotations

import argparse
import logging

import pandas as pd

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_manifest
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import PREDICTION_COLUMNS, publish
from emoser.evaluation.scoring import summarise_predictions
from emoser.features.functionals import Functionals
from emoser.features.views import load_views
from emoser.models.classical.crosscorpus import Corpus, cross_corpus, shared_emotions
from emoser.params.baselines import BaselinesParams
from emoser.params.corpora import RolesParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.ours import OursParams

PREDICTIONS, SUMMARY = "predictions.csv", "summary.json"
log = logging.getLogger(__name__)


class Params(Section):
    roles: RolesParams
    evaluate: EvaluateParams
    baselines: BaselinesParams
    ours: OursParams


def load_corpus(name: str, feature_sets: set[str], ours: OursParams) -> Corpus:
    """Corpus ``name``'s recordings, openSMILE functionals and our model's views."""
    where = paths.corpus_data(name)
    manifest = read_manifest(where.manifest)
    return Corpus.load(name, manifest, {s: Functionals.load(where.opensmile / f"{s}.npz") for s in feature_sets},
                       load_views(where, ours, manifest["utterance"]))


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    name = parser.parse_args(argv).corpus
    params = load_params(Params)
    out = paths.corpus_data(name).cross
    if name == params.roles.networks:
        log.info("%s is the networks' corpus (roles.networks): nothing to cross it with here", name)
        publish({}, pd.DataFrame(columns=PREDICTION_COLUMNS), out / PREDICTIONS, out / SUMMARY)
        return
    sets = {m.feature_set for m in params.baselines.models.values()} | {params.ours.feature_set}
    networks = load_corpus(params.roles.networks, sets, params.ours)
    other = load_corpus(name, sets, params.ours)
    predictions = cross_corpus(networks, other, params.baselines.models, params.ours,
                               params.baselines.speaker_standardisation, params.ours.jobs)
    settings, summary = params.evaluate, {}
    for train, test in ((networks, other), (other, networks)):
        protocol = f"{train.name}→{test.name}"
        emotions = shared_emotions(train.manifest, test.manifest, (train.name, test.name))
        part = predictions[predictions["protocol"] == protocol]
        summary.update(summarise_predictions(part, emotions, settings.bootstrap_resamples, settings.seed,
                                             settings.ci_level))
        summary[protocol]["emotions"] = emotions
    publish(summary, predictions, out / PREDICTIONS, out / SUMMARY)


if __name__ == "__main__":
    main()
