"""Can an unlabelled batch tell whether speaker standardisation will help or harm? (issue 36, point 4)

Speaker standardisation (each speaker's features z-scored over their own recordings) is the strongest
adaptation where each speaker's recordings span the emotions, and falls to chance where each speaker
holds one emotion (docs/corpora.md). A served model sees no labels: a guard must decide from the
batch alone. Two statistics of the batch, both from predictions only:

- ``V``: how strongly the predicted emotion depends on the speaker under the corpus-adapted model
  (speakers holding one emotion each: strongly), ``emoser.serving.adaptation.speaker_dependence``;
- ``agreement``: how often the speaker-adapted answer equals the corpus-adapted one (where speaker
  standardisation removes the emotion with the speaker, its answers scatter: low);

and what the served guard (``emoser.serving.adaptation.speaker_guard``) decides from them.

For each corpus held out (leave one corpus out, as stage loco, the Whisper view alone for cost) and five
batches of it (the whole corpus, 4 speakers, and speakers keeping 3, 2 or 1 of its emotions), it prints
UAR as is, corpus-adapted, speaker-adapted (trained on speaker-standardised corpora) and the
corpus-adapted model answering speaker-standardised rows (what the served twin does), and both statistics.

    cd <a workspace with the three corpora's views built> && python /path/to/tools/speaker_guard.py [--small]

``--small``: batches of 30 recordings instead (3 speakers drawn at random, 10 recordings each, over every
emotion or each speaker's of one emotion), three draws each.
"""
from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.metrics import recall_score

from emoser.core.config import Section, load_params
from emoser.models.classical.loco import Recordings, adapted, held_out
from emoser.params.ours import OursParams
from emoser.serving.adaptation import speaker_dependence, speaker_guard

CORPORA = ("emodb", "ravdess", "nemo")


class Params(Section):
    ours: OursParams


def emotions_per_speaker(corpus: Recordings, k: int) -> Recordings:
    """Speaker i (in sorted order) keeps only the recordings of k of the corpus's emotions, the i-th to the
    (i+k-1)-th (cycling): k = 1, each speaker holds one emotion."""
    emotions = sorted(corpus.manifest["emotion"].unique())
    speakers = sorted(corpus.manifest["speaker"].astype(str).unique())
    kept = {s: {emotions[(i + j) % len(emotions)] for j in range(k)} for i, s in enumerate(speakers)}
    keep = np.array([e in kept[str(s)] for s, e in zip(corpus.manifest["speaker"], corpus.manifest["emotion"])])
    return subset(corpus, keep)


def some_speakers(corpus: Recordings, n: int, seed: int = 0) -> Recordings:
    """n speakers drawn at random, with all their recordings."""
    speakers = sorted(corpus.manifest["speaker"].astype(str).unique())
    chosen = set(np.random.default_rng(seed).choice(speakers, size=min(n, len(speakers)), replace=False))
    return subset(corpus, corpus.manifest["speaker"].astype(str).isin(chosen).to_numpy())


def small(corpus: Recordings, seed: int, one_emotion: bool, speakers: int = 3, each: int = 10) -> Recordings:
    """A small batch: ``speakers`` drawn at random with ``each`` of their recordings drawn at random, over
    every emotion or (``one_emotion``) each speaker's of one emotion of its own."""
    rng = np.random.default_rng(seed)
    manifest = corpus.manifest.assign(speaker=corpus.manifest["speaker"].astype(str))
    chosen = rng.choice(sorted(manifest["speaker"].unique()), size=speakers, replace=False)
    emotions = rng.permutation(sorted(manifest["emotion"].unique()))
    keep = np.zeros(len(manifest), dtype=bool)
    for i, speaker in enumerate(chosen):
        rows = manifest["speaker"] == speaker
        if one_emotion:
            rows &= manifest["emotion"] == emotions[i % len(emotions)]
        index = np.flatnonzero(rows.to_numpy())
        keep[rng.choice(index, size=min(each, len(index)), replace=False)] = True
    return subset(corpus, keep)


def subset(corpus: Recordings, keep: np.ndarray) -> Recordings:
    """The recordings ``keep`` of ``corpus``, its labels renumbered 0.. over the emotions kept (in order)."""
    manifest = corpus.manifest[keep].reset_index(drop=True)
    manifest["label"] = manifest["label"].rank(method="dense").astype(int) - 1
    return Recordings(corpus.name, manifest, {v: x[keep] for v, x in corpus.views.items()})


def one(corpora: list[Recordings], held: str, batch: str, params: OursParams) -> dict:
    tables = {a: held_out(corpora, held, params, a)[0] for a in ("none", "corpus", "speaker")}
    # the corpus-adapted model (trained on corpus-standardised corpora) answering speaker-standardised rows
    mixed = [adapted(c, "speaker" if c.name == held else "corpus") for c in corpora]
    tables["speaker, corpus-adapted model"] = held_out(mixed, held, params, "none")[0]
    emotions = sorted(tables["none"]["emotion"].unique())
    row = {"held out": held, "batch": batch, "recordings": len(tables["none"]),
           "speakers": tables["none"]["speaker"].nunique()}
    for a, t in tables.items():
        row[f"UAR {a}"] = recall_score(t["emotion"], t["predicted"], labels=emotions, average="macro",
                                       zero_division=0)
    corpus, speaker = tables["corpus"], tables["speaker, corpus-adapted model"]
    row["V"] = speaker_dependence(corpus["speaker"].tolist(), corpus["predicted"].tolist())
    row["agreement"] = float((corpus["predicted"].to_numpy() == speaker["predicted"].to_numpy()).mean())
    why = speaker_guard(corpus["speaker"].tolist(), corpus["predicted"].tolist(), speaker["predicted"].tolist())
    row["guard"] = "per speaker" if why is None else "per batch"
    row["gain if per speaker"] = row["UAR speaker, corpus-adapted model"] - row["UAR corpus"]
    return row


def main() -> None:
    ours = load_params(Params).ours
    ours = ours.model_copy(update={"fusion": ours.fusion.model_copy(update={"views": ("whisper",),
                                                                            "weights": {"whisper": 1.0}})})
    loaded = {n: Recordings.load(n, ours) for n in CORPORA}
    batches = {"whole corpus": lambda c: c, "4 speakers": lambda c: some_speakers(c, 4),
               "3 emotions per speaker": lambda c: emotions_per_speaker(c, 3),
               "2 emotions per speaker": lambda c: emotions_per_speaker(c, 2),
               "1 emotion per speaker": lambda c: emotions_per_speaker(c, 1)}
    if "--small" in sys.argv[1:]:     # small batches, three draws each: how steady is the guard there?
        batches = {f"3 speakers x 10{', 1 emotion each' if one else ''}, draw {seed}":
                   (lambda c, seed=seed, one=one: small(c, seed, one)) for one in (False, True) for seed in range(3)}
    jobs = []
    for held in CORPORA:
        for batch, make in batches.items():
            jobs.append(([make(c) if c.name == held else c for c in loaded.values()], held, batch))
    rows = Parallel(n_jobs=2)(delayed(one)(c, h, b, ours) for c, h, b in jobs)
    table = pd.DataFrame(rows)
    pd.set_option("display.width", 200)
    print(table.round(3).to_string(index=False))


if __name__ == "__main__":
    sys.exit(main())
