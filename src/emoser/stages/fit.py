"""Stage fit: our model fitted on every recording of the corpora of ``roles.ours`` (default: all), over
the union of their emotions, each corpus weighed equally within an emotion and the fusion's weights
chosen on inner leave-one-corpus-out (one corpus: inner groups of its speakers), for ``emoser predict
--model models/ours`` and stage package -> models/ours/; and its twin on each corpus's features
z-scored over that corpus's own recordings (stage loco's ``+corpstd``), for a batch of recordings
from one set-up adapted the same way (``emoser predict --adapt``) -> models/ours/adapted/. The two fit
in parallel; their inner leave-one-corpus-out probabilities are stage loco's (data/loco/held_out_views.npz,
the same fits), computed here only where loco's were made from other corpora or params. Each model's
temperature (model.json ``temperature``; stage package serves it) is fitted on those held-out
probabilities, fused: a corpus predicted by models that never heard it, as a user's recordings are.

    python -m emoser.stages.fit
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.models.classical.calibration import held_out_temperature
from emoser.models.classical.fusion import MODEL, FusionModel, Inner, inner_probabilities
from emoser.models.classical.loco import HeldOutViews, Pooled, Recordings, adapted, pool
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
    # Both fits choose their weights on inner leave-one-corpus-out: stage loco's very fits (read, not refitted)
    shared = HeldOutViews.load(paths.LOCO / HeldOutViews.FILE)
    same = pool([adapted(c, ADAPTATION) for c in corpora])
    twins = [(pooled, facts, paths.OURS_MODEL, "none"),
             (same, {**facts, "adaptation": ADAPTATION}, paths.OURS_MODEL / ADAPTED, ADAPTATION)]
    Parallel(n_jobs=min(params.ours.jobs, len(twins)) if params.ours.jobs > 0 else len(twins))(
        delayed(_fit_and_save)(data, params.ours, about, where,
                               shared.inner(corpora, params.ours, adaptation, data) if shared else None)
        for data, about, where, adaptation in twins)


def _fit_and_save(data: Pooled, params: OursParams, facts: dict, folder: Path, inner: Inner | None) -> None:
    """The model, with its temperature fitted on the held-out probabilities its weights were chosen on."""
    several = len(set(data.corpora)) > 1
    if inner is None:
        inner = inner_probabilities(data.views, data.labels, data.speakers, np.arange(len(data.labels)), params,
                                    len(facts["emotions"]), data.corpora)
    model = FusionModel.fit(data.views, data.labels, data.speakers, params, facts, corpora=data.corpora, inner=inner)
    model.facts["temperature"] = held_out_temperature(
        inner, model.weights, data.labels,
        "inner leave-one-corpus-out" if several else "inner groups of the training speakers")
    model.save(folder)


if __name__ == "__main__":
    main()
