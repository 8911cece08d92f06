"""Stage loco: leave one corpus out. For each corpus of ``roles.ours``, our model trained on the others
(the union of their emotions) and scored on it, over its emotions the others cover, as it is and with
each adaptation of ``loco.adaptation`` -> data/loco/{predictions.csv, summary.json, weights.csv}
(stage corpora publishes the summary as metrics/loco.json and the README's table), and each view's
probabilities on each held-out corpus -> data/loco/held_out_views.npz (stage fit's inner fits: read, not
refitted).

    python -m emoser.stages.loco
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import write_csv
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import publish
from emoser.evaluation.scoring import summarise_predictions
from emoser.models.classical.loco import HeldOutViews, Recordings, leave_one_corpus_out, weights_table
from emoser.params.corpora import CorpusParams, RolesParams, training_corpora
from emoser.params.evaluate import EvaluateParams
from emoser.params.loco import LocoParams
from emoser.params.ours import OursParams

PREDICTIONS, SUMMARY, WEIGHTS = "predictions.csv", "summary.json", "weights.csv"


class Params(Section):
    corpora: dict[str, CorpusParams]
    roles: RolesParams
    ours: OursParams
    loco: LocoParams
    evaluate: EvaluateParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpora = [Recordings.load(name, params.ours) for name in training_corpora(params.corpora, params.roles)]
    predictions, facts, shared = leave_one_corpus_out(corpora, params.ours, params.loco.adaptation, params.loco.jobs)
    settings, summary = params.evaluate, {}
    for protocol, part in predictions.groupby("protocol", sort=False):
        chosen = next(iter(facts[protocol].values()))
        emotions = chosen["emotions"]
        summary.update(summarise_predictions(part, emotions, settings.bootstrap_resamples, settings.seed,
                                             settings.ci_level))
        summary[protocol]["emotions"] = emotions
        summary[protocol]["held_out"] = chosen["held_out"]
    write_csv(paths.LOCO / WEIGHTS, weights_table(facts))
    if shared is not None:
        shared.save(paths.LOCO / HeldOutViews.FILE)
    publish(summary, predictions, paths.LOCO / PREDICTIONS, paths.LOCO / SUMMARY)


if __name__ == "__main__":
    main()
