"""Leave one corpus out (stage loco): our model trained on every corpus of ``roles.ours`` but one, over
the union of their emotions (each corpus weighed equally within an emotion:
``emoser.models.classical.fusion.corpus_balance``), and scored on the corpus it never heard, over the
emotions of that corpus that the others cover (its answer is the most probable of those: the
protocol of the pairwise matrix, stage crosscorpus, which trains on the shared emotions only).

Every choice is made inside the training corpora: the fusion's weights on inner leave-one-corpus-out
(each training corpus held out once: ``fusion.inner_probabilities``); C, the views and Whisper's
layers are params, as everywhere. Nothing of the held-out corpus is used but, under an adaptation,
its unlabelled audio.

Adaptations (params ``loco.adaptation``): ``none``; ``corpus`` z-scores each corpus's features over
its own recordings (every recording, whatever its emotion: choosing by emotion would use labels);
``corpus_robust`` uses the median and the interquartile range (scaled to a normal's standard
deviation) instead; ``speaker`` z-scores each speaker over their own recordings (as stage ours's
``+spkstd``: it assumes each speaker's recordings span the emotions).
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path, read_manifest
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import PREDICTION_COLUMNS
from emoser.features.views import load_views
from emoser.models.classical.fusion import FUSED, Inner, fit_fold
from emoser.models.classical.fusion import MODEL as OURS
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.params.ours import OursParams

log = logging.getLogger(__name__)
# the model's name per adaptation (speaker: as stage ours's +spkstd, each speaker over their own recordings)
SUFFIX = {"none": "", "corpus": "+corpstd", "corpus_robust": "+corprob", "speaker": SPEAKER_STANDARDISED}
IQR_TO_STD = 1.3489795   # a normal distribution's interquartile range in standard deviations


@dataclass(frozen=True)
class Recordings:
    """One corpus's recordings (its manifest) and our model's views of them, rows in its order."""
    name: str
    manifest: pd.DataFrame
    views: dict[str, np.ndarray]

    @classmethod
    def load(cls, name: str, params: OursParams) -> Recordings:
        """Corpus ``name``'s manifest and stored views (data/corpora/NAME/)."""
        where = paths.corpus_data(name)
        manifest = read_manifest(where.manifest)
        return cls(name, manifest, load_views(where, params, manifest["utterance"]))


def standardise(values: np.ndarray, robust: bool = False) -> np.ndarray:
    """Z-score each column over the rows (median and IQR when ``robust``); constant columns become 0."""
    values = np.asarray(values, dtype=np.float64)
    if robust:
        low, centre, high = np.percentile(values, [25, 50, 75], axis=0)
        scale = (high - low) / IQR_TO_STD
        fallback = values.std(axis=0)            # a column with IQR 0 (mostly one value): its std
        scale = np.where(scale > 0, scale, fallback)
    else:
        centre, scale = values.mean(axis=0), values.std(axis=0)
    return (values - centre) / np.where(scale > 0, scale, 1.0)


def adapted(corpus: Recordings, adaptation: str) -> Recordings:
    """The corpus with its views adapted (``none``: as it is)."""
    if adaptation == "none":
        return corpus
    if adaptation == "speaker":
        speakers = corpus.manifest["speaker"].astype(str).to_numpy()
        return Recordings(corpus.name, corpus.manifest, {v: speaker_standardise(x, speakers)
                                                         for v, x in corpus.views.items()})
    views = {v: standardise(x, robust=adaptation == "corpus_robust") for v, x in corpus.views.items()}
    return Recordings(corpus.name, corpus.manifest, views)


def union_emotions(manifests: Sequence[pd.DataFrame]) -> list[str]:
    """The emotions of several corpora: the first's order, then each further one's new emotions."""
    return list(dict.fromkeys(e for m in manifests for e in emotion_order(m)))


@dataclass(frozen=True)
class Pooled:
    """Several corpora's recordings stacked: views, labels over ``emotions``, speakers, corpora."""
    views: dict[str, np.ndarray]
    labels: np.ndarray
    speakers: np.ndarray
    corpora: np.ndarray
    emotions: list[str]


def pool(corpora: Sequence[Recordings], emotions: Sequence[str] | None = None) -> Pooled:
    """Every recording of ``corpora`` whose emotion is in ``emotions`` (default: their union), stacked."""
    emotions = list(emotions) if emotions is not None else union_emotions([c.manifest for c in corpora])
    index = {e: i for i, e in enumerate(emotions)}
    kept = [np.flatnonzero(c.manifest["emotion"].isin(emotions).to_numpy()) for c in corpora]
    views = {v: np.vstack([c.views[v][rows] for c, rows in zip(corpora, kept)]) for v in corpora[0].views}
    labels = np.concatenate([c.manifest["emotion"].to_numpy()[rows] for c, rows in zip(corpora, kept)])
    speakers = np.concatenate([c.manifest["speaker"].astype(str).to_numpy()[rows] for c, rows in zip(corpora, kept)])
    names = np.concatenate([np.full(len(rows), c.name, dtype=object) for c, rows in zip(corpora, kept)])
    return Pooled(views, np.array([index[e] for e in labels], dtype=np.int64), speakers, names, emotions)


def scored_emotions(held: Recordings, training: Sequence[str]) -> list[str]:
    """The held-out corpus's emotions that the training corpora cover, in the training order; an
    error when fewer than two (nothing to classify)."""
    own = set(held.manifest["emotion"])
    shared = [e for e in training if e in own]
    if len(shared) < 2:
        raise EmoserError(f"stage loco: the other corpora cover {len(shared)} emotion(s) of corpus {held.name!r} "
                          f"{shared}; two or more are needed (map labels onto common names: corpora.NAME.labels)")
    return shared


def protocol_name(training: Sequence[str], held: str) -> str:
    """``emodb+ravdess→nemo``: trained on emodb and ravdess, scored on nemo."""
    return f"{'+'.join(training)}→{held}"


def held_out(corpora: Sequence[Recordings], held: str, params: OursParams, adaptation: str
             ) -> tuple[pd.DataFrame, dict, dict[str, np.ndarray]]:
    """Predictions (PREDICTION_COLUMNS; fold = the test speaker) of our model trained on every corpus
    but ``held`` and scored on ``held``; the fusion's weights and emotions; and each view's
    probabilities on every recording of ``held`` (over the union of every corpus's emotions, as stage
    fit labels them: its inner leave-one-corpus-out fits are these very fits, ``HeldOutViews``)."""
    chosen = [adapted(c, adaptation) for c in corpora]
    training = [c for c in chosen if c.name != held]
    test = next(c for c in chosen if c.name == held)
    if not training:
        raise EmoserError(f"stage loco: corpus {held!r} is the only one in roles.ours; leave-one-corpus-out "
                          "needs two or more")
    labelled = union_emotions([c.manifest for c in chosen])        # label indices: every corpus's emotions
    training_emotions = union_emotions([c.manifest for c in training])
    emotions = scored_emotions(test, training_emotions)
    train_pool, test_pool = pool(training, labelled), pool([test], labelled)
    views = {v: np.vstack([train_pool.views[v], test_pool.views[v]]) for v in params.fusion.views}
    n_train, n_test = len(train_pool.labels), len(test_pool.labels)
    labels = np.concatenate([train_pool.labels, np.zeros(n_test, dtype=np.int64)])   # test labels unused
    speakers = np.concatenate([train_pool.speakers, np.full(n_test, "")])
    corpora_of = np.concatenate([train_pool.corpora, np.full(n_test, held, dtype=object)])
    probabilities, weights = fit_fold(views, labels, speakers, np.arange(n_train), n_train + np.arange(n_test),
                                      params, False, len(labelled), corpora=corpora_of, keep_views=True)
    scored = test.manifest["emotion"].isin(emotions).to_numpy()
    columns = [labelled.index(e) for e in emotions]
    predicted = np.asarray(emotions)[probabilities[FUSED][scored][:, columns].argmax(axis=1)]
    rows = test.manifest[scored]
    table = pd.DataFrame({"protocol": protocol_name([c.name for c in training], held),
                          "model": OURS + SUFFIX[adaptation], "fold": rows["speaker"].astype(str).to_numpy(),
                          "utterance": rows["utterance"].to_numpy(), "speaker": rows["speaker"].astype(str).to_numpy(),
                          "emotion": rows["emotion"].to_numpy(), "predicted": predicted})
    log.info("%s%s: %d training recordings (%s), %d scored, emotions %s; weights %s", table["protocol"].iloc[0],
             SUFFIX[adaptation], n_train, ", ".join(training_emotions), len(rows), ", ".join(emotions), weights)
    facts = {"held_out": held, "emotions": emotions, "training_emotions": training_emotions, "weights": weights,
             "training_recordings": n_train}
    return table[PREDICTION_COLUMNS], facts, {v: probabilities[v] for v in params.fusion.views}


def leave_one_corpus_out(corpora: Sequence[Recordings], params: OursParams, adaptations: Sequence[str],
                         jobs: int) -> tuple[pd.DataFrame, dict[str, dict], HeldOutViews | None]:
    """``held_out`` for every corpus and adaptation (in parallel): the predictions; per protocol and
    model, what was chosen; and the views' probabilities on each held-out corpus (for stage fit).
    Nothing for a single corpus."""
    if len(corpora) < 2:
        log.info("leave one corpus out: roles.ours names %d corpus; nothing to hold out", len(corpora))
        return pd.DataFrame(columns=PREDICTION_COLUMNS), {}, None
    tasks = [(c.name, a) for c in corpora for a in adaptations]
    results = Parallel(n_jobs=jobs)(delayed(held_out)(corpora, name, params, a) for name, a in tasks)
    facts: dict[str, dict] = {}
    for (_, adaptation), (table, chosen, _) in zip(tasks, results):
        facts.setdefault(table["protocol"].iloc[0], {})[OURS + SUFFIX[adaptation]] = chosen
    shared = HeldOutViews(fingerprint(corpora, params),
                          {f"{a}/{name}/{v}": p for (name, a), (_, _, views) in zip(tasks, results)
                           for v, p in views.items()})
    return pd.concat([table for table, _, _ in results], ignore_index=True), facts, shared


def fingerprint(corpora: Sequence[Recordings], params: OursParams) -> dict:
    """What the held-out fits depend on: the corpora (names, order, utterances and the sha256 of their
    views) and our model's params."""
    digests = {}
    for c in corpora:
        digest = hashlib.sha256("\n".join(c.manifest["utterance"].astype(str)).encode())
        for name in sorted(c.views):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(c.views[name]).data)
        digests[c.name] = digest.hexdigest()
    return {"corpora": digests, "emotions": union_emotions([c.manifest for c in corpora]),
            "ours": params.model_dump(mode="json", include={"feature_set", "feature_counts", "C", "whisper_layers",
                                                            "fusion"})}


@dataclass(frozen=True)
class HeldOutViews:
    """Each view's probabilities on each corpus held out (stage loco), keyed ``adaptation/corpus/view``:
    stage fit chooses the served model's weights on inner leave-one-corpus-out, whose fits are loco's
    (the same rows, labels and params), so it reads them instead of fitting them again. Kept with
    what they were computed from (``fingerprint``); anything else, and fit computes its own."""
    facts: dict
    probabilities: dict[str, np.ndarray]

    FILE = "held_out_views.npz"           # in stage loco's output folder; a dep of stage fit

    def save(self, path: Path) -> None:
        with atomic_path(path) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, facts=np.array(json.dumps(self.facts, sort_keys=True)), **self.probabilities)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: Path) -> HeldOutViews | None:
        if not path.is_file():
            return None
        with np.load(path) as stored:
            return cls(json.loads(str(stored["facts"])), {k: stored[k] for k in stored.files if k != "facts"})

    def inner(self, corpora: Sequence[Recordings], params: OursParams, adaptation: str, pooled: Pooled
              ) -> Inner | None:
        """``fusion.inner_probabilities``' answer for ``pool`` of ``corpora`` adapted by ``adaptation``
        (its rows in sorted corpus order, as there), or None (with the reason logged) where these were
        computed from other corpora or params, or without that adaptation."""
        if self.facts != fingerprint(corpora, params):
            log.info("%s: computed from other corpora or params than these; fitting inner leave-one-corpus-out "
                     "here", self.FILE)
            return None
        names = sorted(set(pooled.corpora))
        keys = [f"{adaptation}/{c}/{v}" for c in names for v in params.fusion.views]
        if len(names) < 2 or any(k not in self.probabilities for k in keys):
            log.info("%s: no %r held-out probabilities; fitting inner leave-one-corpus-out here", self.FILE,
                     adaptation)
            return None
        rows = np.concatenate([np.flatnonzero(pooled.corpora == c) for c in names])
        return rows, {v: np.concatenate([self.probabilities[f"{adaptation}/{c}/{v}"] for c in names])
                      for v in params.fusion.views}


def weights_table(facts: Mapping[str, Mapping[str, dict]]) -> pd.DataFrame:
    """One row per (protocol, model): the fusion's weights chosen on inner leave-one-corpus-out."""
    return pd.DataFrame([{"protocol": p, "model": m, **chosen["weights"]}
                         for p, block in facts.items() for m, chosen in block.items()])
