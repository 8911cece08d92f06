"""Stage fit: our model fitted on every recording of the networks' corpus (``roles.networks``), for
``emoser predict --model models/ours`` and stage package -> models/ours/.

    python -m emoser.stages.fit
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_manifest
from emoser.core.runtime import entry_point
from emoser.corpora.manifest import emotion_order
from emoser.features.views import load_views
from emoser.models.classical.fusion import MODEL, FusionModel
from emoser.params.corpora import RolesParams
from emoser.params.ours import OursParams
from emoser.params.whisper import WhisperParams


class Params(Section):
    ours: OursParams
    whisper: WhisperParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpus = paths.corpus_data(params.roles.networks)
    manifest = read_manifest(corpus.manifest)
    views = load_views(corpus, params.ours, manifest["utterance"])
    facts = {"model": MODEL, "feature_set": params.ours.feature_set, "emotions": list(emotion_order(manifest)),
             "window_s": float(manifest["duration"].max()), "recordings": len(manifest),
             "whisper": params.whisper.model_dump(mode="json", include={"window_s", "pooling"}),
             "params": params.ours.model_dump(mode="json", include={"feature_counts", "C", "whisper_layers", "fusion"})}
    FusionModel.fit(views, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), params.ours,
                    facts).save(paths.OURS_MODEL)


if __name__ == "__main__":
    main()
