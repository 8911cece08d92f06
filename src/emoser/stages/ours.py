"""Stage ours: our model (a ComParE feature-count ensemble, the voice encoder and Whisper's encoder,
fused with weights chosen inside each fold), scored like the baselines in every fold of corpus NAME,
with its LOSO ablation on the networks' corpus (``ours.ablation``) -> data/study/NAME/cv/ours.{csv,json},
ours_weights.csv (each fold's weights), ours_ablation.csv, ablation.json (the networks' corpus's
summaries: published by report as metrics/). Stage fit fits the model on every recording.

    python -m emoser.stages.ours --corpus NAME
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import write_csv, write_json
from emoser.core.runtime import entry_point
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import load_recordings_and_folds, publish, split_protocol_of, summarise_recordings
from emoser.features.views import load_views
from emoser.models.classical.fusion import run_ours, summarise_ablation
from emoser.params.corpora import RolesParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.ours import OursParams


class Params(Section):
    evaluate: EvaluateParams
    ours: OursParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    name = parser.parse_args(argv).corpus
    corpus = paths.corpus_data(name)
    params = load_params(Params)
    manifest, table = load_recordings_and_folds(corpus)
    views = load_views(corpus, params.ours, manifest["utterance"])
    ablation = params.ours.ablation and name == params.roles.networks   # the report's ablation section
    predictions, rows, weights = run_ours(manifest, views, table, params.ours.model_copy(update={"ablation": ablation}))
    summary = summarise_recordings(predictions, manifest, params.evaluate, split_protocol_of(table))
    scoring = params.evaluate
    write_csv(corpus.ours_weights, weights)
    write_csv(corpus.ours_ablation, rows)
    write_json(corpus.ablation_summary, summarise_ablation(rows, emotion_order(manifest), scoring.bootstrap_resamples,
                                                          scoring.seed, scoring.ci_level))
    publish(summary, predictions, corpus.ours_predictions, corpus.ours_summary)


if __name__ == "__main__":
    main()
