"""Stage ours: our model (a ComParE feature-count ensemble, the voice encoder and Whisper's encoder,
fused with weights chosen inside each fold), scored like the baselines on the same folds, with its
LOSO ablation; and the model fitted on every recording for predict -> data/cv/ours.json,
data/cv/ablation.json (published by report as metrics/), data/cv/ours*.csv (ours_weights.csv: each
fold's weights), models/ours/; a further corpus under LOSO, without ablation or a fitted model ->
data/corpora/NAME/cv/.

    python -m emoser.stages.ours [--corpus NAME]
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import write_csv, write_json
from emoser.core.runtime import entry_point
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import load_recordings_and_folds, publish, summarise_recordings
from emoser.features.views import load_views
from emoser.models.classical.fusion import MODEL, FusionModel, run_ours, summarise_ablation
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.ours import OursParams
from emoser.params.split import SplitParams
from emoser.params.whisper import WhisperParams


class Params(Section):
    split: SplitParams
    evaluate: EvaluateParams
    cv: CvParams
    ours: OursParams
    whisper: WhisperParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    name = parser.parse_args(argv).corpus
    corpus = paths.corpus_data(name)
    params = load_params(Params)
    split_protocol = params.split.protocol if name is None else None
    manifest, table = load_recordings_and_folds(split_protocol, corpus)
    views = load_views(corpus, params.ours, manifest["utterance"])
    settings = params.ours if name is None else params.ours.model_copy(update={"ablation": False})
    predictions, ablation, weights = run_ours(manifest, views, table, settings)
    summary = summarise_recordings(predictions, manifest, params.evaluate, split_protocol)
    write_csv(corpus.cv / paths.OURS_WEIGHTS.name, weights)
    if name is not None:
        publish(summary, predictions, corpus.cv / paths.OURS_PREDICTIONS.name, corpus.cv / paths.OURS_SUMMARY.name)
        return
    scoring, emotions = params.evaluate, emotion_order(manifest)
    write_csv(paths.OURS_ABLATION, ablation)
    write_json(paths.ABLATION_SUMMARY,
               summarise_ablation(ablation, emotions, scoring.bootstrap_resamples, scoring.seed, scoring.ci_level))
    facts = {"model": MODEL, "feature_set": params.ours.feature_set, "emotions": list(emotions),
             "window_s": float(manifest["duration"].max()), "recordings": len(manifest),
             "whisper": params.whisper.model_dump(mode="json", include={"window_s", "pooling"}),
             "params": params.ours.model_dump(mode="json", include={"feature_counts", "C", "whisper_layers", "fusion"})}
    FusionModel.fit(views, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), params.ours,
                    facts).save(paths.OURS_MODEL)
    publish(summary, predictions, paths.OURS_PREDICTIONS, paths.OURS_SUMMARY)


if __name__ == "__main__":
    main()
