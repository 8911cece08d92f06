"""Stage fit: our model fitted on every recording of the corpora of ``roles.ours`` (default: all), over
the union of their emotions, each corpus weighed equally within an emotion and the fusion's weights
chosen on inner leave-one-corpus-out (one corpus: inner groups of its speakers), for ``emoser predict
--model models/ours`` and stage package -> models/ours/; and its twin on each corpus's features
z-scored over that corpus's own recordings (stage loco's ``+corpstd``), for a batch of recordings
from one set-up adapted the same way (``emoser predict --adapt``) -> models/ours/adapted/.

    python -m emoser.stages.fit
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.models.classical.fusion import MODEL, FusionModel
from emoser.models.classical.loco import Recordings, adapted, pool
from emoser.params.corpora import CorpusParams, RolesParams, training_corpora
from emoser.params.ours import OursParams
from emoser.params.whisper import WhisperParams

ADAPTED, ADAPTATION = "adapted", "corpus"   # models/ours/adapted: trained as stage loco's +corpstd


class Params(Section):
    corpora: dict[str, CorpusParams]
    ours: OursParams
    whisper: WhisperParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpora = [Recordings.load(name, params.ours) for name in training_corpora(params.corpora, params.roles)]
    pooled = pool(corpora)
    facts = {"model": MODEL, "feature_set": params.ours.feature_set, "emotions": pooled.emotions,
             "corpora": {c.name: len(c.manifest) for c in corpora},
             "window_s": float(max(c.manifest["duration"].max() for c in corpora)), "recordings": len(pooled.labels),
             "whisper": params.whisper.model_dump(mode="json", include={"window_s", "pooling"}),
             "params": params.ours.model_dump(mode="json", include={"feature_counts", "C", "whisper_layers", "fusion"})}
    FusionModel.fit(pooled.views, pooled.labels, pooled.speakers, params.ours, facts,
                    corpora=pooled.corpora).save(paths.OURS_MODEL)
    # its twin for a batch from one set-up (emoser predict --adapt): each corpus z-scored over its own recordings
    same = pool([adapted(c, ADAPTATION) for c in corpora])
    FusionModel.fit(same.views, same.labels, same.speakers, params.ours, {**facts, "adaptation": ADAPTATION},
                    corpora=same.corpora).save(paths.OURS_MODEL / ADAPTED)


if __name__ == "__main__":
    main()
