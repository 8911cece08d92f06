"""Across corpora: each classical model (the SVM baselines and ours) trained on every recording of
one corpus and scored on every recording of another, over the emotions both have (stage
crosscorpus), both ways.

Speaker standardisation (``+spkstd``) z-scores each speaker of either corpus over all of that
speaker's recordings, the test corpus's included: its unlabelled audio, never its labels (and every
recording of a speaker, not only those of the shared emotions, since choosing those would use the
labels). Without it, the test corpus meets the training corpus's scaling as it is — the setting a
user of a trained model is in.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from emoser.core.errors import EmoserError
from emoser.evaluation.predictions import PREDICTION_COLUMNS
from emoser.features.functionals import Functionals
from emoser.models.classical.fusion import FUSED, fit_fold, standardised_views
from emoser.models.classical.fusion import MODEL as OURS
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.models.classical.svm import make_svm
from emoser.params.baselines import BaselineParams
from emoser.params.ours import OursParams

log = logging.getLogger(__name__)
ARROW = "→"    # a direction's protocol name: "emodb→ravdess" (trained on emodb, scored on ravdess)


@dataclass(frozen=True)
class Corpus:
    """One corpus's recordings and their features (rows in the manifest's order)."""
    name: str
    manifest: pd.DataFrame
    functionals: dict[str, np.ndarray]   # openSMILE set -> (recordings, features)
    views: dict[str, np.ndarray]         # our model's views (ours.fusion.views) -> (recordings, features)

    @classmethod
    def load(cls, name: str, manifest: pd.DataFrame, opensmile: dict[str, Functionals],
             views: dict[str, np.ndarray]) -> Corpus:
        rows = manifest["utterance"]
        return cls(name, manifest, {s: f.select(rows) for s, f in opensmile.items()}, views)

    def standardised(self) -> Corpus:
        speakers = self.manifest["speaker"]
        functionals = {s: speaker_standardise(v, speakers) for s, v in self.functionals.items()}
        return Corpus(self.name, self.manifest, functionals, standardised_views(self.views, speakers, True))


def shared_emotions(train: pd.DataFrame, test: pd.DataFrame, names: tuple[str, str]) -> list[str]:
    """The emotions both manifests hold, in the training corpus's label order; an error naming both
    corpora when fewer than two are shared (nothing to classify)."""
    order = train.drop_duplicates("label").sort_values("label")["emotion"].tolist()
    shared = [e for e in order if e in set(test["emotion"])]
    if len(shared) < 2:
        raise EmoserError(f"stage crosscorpus: corpora {names[0]!r} and {names[1]!r} share "
                          f"{len(shared)} emotion(s) {shared}; two or more are needed (map their labels onto "
                          "common names: params corpora.NAME.labels)")
    return shared


def direction(train: Corpus, test: Corpus, baselines: dict[str, BaselineParams], ours: OursParams,
              standardise: bool) -> pd.DataFrame:
    """Predictions (PREDICTION_COLUMNS; protocol ``train→test``, fold = test speaker) of every model
    trained on all of ``train`` and scored on all of ``test``, over their shared emotions."""
    if standardise:
        train, test = train.standardised(), test.standardised()
    emotions = shared_emotions(train.manifest, test.manifest, (train.name, test.name))
    index = {e: i for i, e in enumerate(emotions)}
    fit_rows = np.flatnonzero(train.manifest["emotion"].isin(emotions).to_numpy())
    score_rows = np.flatnonzero(test.manifest["emotion"].isin(emotions).to_numpy())
    y_train = train.manifest["emotion"].iloc[fit_rows].map(index).to_numpy()
    suffix = SPEAKER_STANDARDISED if standardise else ""
    predicted: dict[str, np.ndarray] = {}
    for name, params in baselines.items():
        svm = make_svm(params).fit(train.functionals[params.feature_set][fit_rows], y_train)
        predicted[name + suffix] = svm.predict(test.functionals[params.feature_set][score_rows])
    # ours: fit_fold on the two corpora stacked (train rows first), as it fits one LOSO fold; nested
    # weights come from groups of the training corpus's speakers
    views: dict[str, np.ndarray] = {v: np.vstack([train.views[v][fit_rows], test.views[v][score_rows]])
                                    for v in ours.fusion.views}
    labels = np.concatenate([y_train, np.zeros(len(score_rows), dtype=y_train.dtype)])   # test labels unused
    speakers = np.concatenate([train.manifest["speaker"].to_numpy()[fit_rows].astype(str),
                               np.full(len(score_rows), "")])
    probabilities, _ = fit_fold(views, labels, speakers, np.arange(len(fit_rows)),
                                len(fit_rows) + np.arange(len(score_rows)), ours, False, len(emotions))
    predicted[OURS + suffix] = probabilities[FUSED].argmax(axis=1)
    chosen = test.manifest.iloc[score_rows]
    protocol = f"{train.name}{ARROW}{test.name}"
    tables = [pd.DataFrame({"protocol": protocol, "model": model, "fold": chosen["speaker"].to_numpy(),
                            "utterance": chosen["utterance"].to_numpy(), "speaker": chosen["speaker"].to_numpy(),
                            "emotion": chosen["emotion"].to_numpy(), "predicted": [emotions[i] for i in p]})
              for model, p in predicted.items()]
    log.info("%s: %d training recordings, %d scored, emotions %s%s", protocol, len(fit_rows), len(score_rows),
             ", ".join(emotions), " (speaker std.)" if standardise else "")
    return pd.concat(tables, ignore_index=True)[PREDICTION_COLUMNS]


def cross_corpus(a: Corpus, b: Corpus, baselines: dict[str, BaselineParams], ours: OursParams,
                 standardisation: tuple[bool, ...], jobs: int = 1) -> pd.DataFrame:
    """``direction`` both ways (a→b, b→a), with and without speaker standardisation as asked; the
    directions on ``jobs`` worker processes (each with one BLAS thread: ~3x faster on 2 cores than one
    process whose BLAS threads share each of these small products)."""
    tables = Parallel(n_jobs=jobs)(delayed(direction)(train, test, baselines, ours, standardise)
                                   for train, test in ((a, b), (b, a)) for standardise in standardisation)
    return pd.concat(tables, ignore_index=True)
