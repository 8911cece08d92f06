"""Stage ours: our model (a ComParE feature-count ensemble fused with a pretrained voice encoder),
scored like the baselines on the same folds, with its LOSO ablation; and the model fitted on every
recording for predict -> data/cv/ours.json, data/cv/ablation.json (published by report as metrics/),
data/cv/ours*.csv, models/ours/.

    python -m emoser.stages.ours
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import write_csv, write_json
from emoser.core.runtime import entry_point
from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.predictions import load_recordings_and_folds, publish, summarise_recordings
from emoser.features.functionals import Functionals
from emoser.models.classical.fusion import MODEL, FusionModel, run_ours, summarise_ablation
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.ours import OursParams
from emoser.params.split import SplitParams


class Params(Section):
    split: SplitParams
    evaluate: EvaluateParams
    cv: CvParams
    ours: OursParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    manifest, table = load_recordings_and_folds(params.split.protocol)
    functionals = Functionals.load(paths.OPENSMILE / f"{params.ours.feature_set}.npz").select(manifest["utterance"])
    embeddings = Functionals.load(paths.VOICE_ENCODER).select(manifest["utterance"])
    predictions, ablation = run_ours(manifest, functionals, embeddings, table, params.ours)
    summary = summarise_recordings(predictions, manifest, params.evaluate, params.split.protocol)
    settings = params.evaluate
    write_csv(paths.OURS_ABLATION, ablation)
    write_json(paths.ABLATION_SUMMARY,
               summarise_ablation(ablation, settings.bootstrap_resamples, settings.seed, settings.ci_level))
    facts = {"model": MODEL, "feature_set": params.ours.feature_set, "emotions": list(EMOTIONS),
             "window_s": float(manifest["duration"].max()), "recordings": len(manifest),
             "params": params.ours.model_dump(mode="json", include={"feature_counts", "C", "embedding_weight"})}
    FusionModel.fit(functionals, embeddings, manifest["label"].to_numpy(), params.ours, facts).save(paths.OURS_MODEL)
    publish(summary, predictions, paths.OURS_PREDICTIONS, paths.OURS_SUMMARY)


if __name__ == "__main__":
    main()
