"""How far our model's views go across corpora: leave one corpus out, each view alone at each C, the
best fusion an oracle could pick (C and weights chosen on the held-out corpus itself: an upper bound, not
a result), and the pick that inner leave-one-corpus-out would make (C and weights chosen on the training
corpora, each predicting the other). A measurement for issue 36's goals, not a stage: it reads what
`dvc repro` stored (data/corpora/NAME/) and prints a Markdown table (docs/corpora.md shows it).

Every view's model is ``make_embedding_model`` (standardise, then one class-balanced logistic
regression; the ComParE view without its feature-count ensemble), trained with ``corpus_balance``
weights on the union of the training corpora's emotions and scored over the held-out corpus's emotions
they cover, as stage loco does. About 10 min on 2 cores for three corpora.

    python tools/loco_ceiling.py                      # roles.ours's corpora, params.yaml's ours section
    python tools/loco_ceiling.py --C 0.001 0.01 --adaptation none
"""
from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np
from sklearn.metrics import recall_score

from emoser.core.config import Section, load_params
from emoser.models.classical.fusion import corpus_balance, make_embedding_model, weight_grid
from emoser.models.classical.loco import Recordings, adapted, pool, scored_emotions
from emoser.params.corpora import CorpusParams, RolesParams, training_corpora
from emoser.params.ours import OursParams


class Params(Section):
    corpora: dict[str, CorpusParams]
    roles: RolesParams
    ours: OursParams


def uar(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Macro recall over the classes ``labels`` holds (the project's UAR: ``evaluation.scoring``)."""
    return float(recall_score(labels, predicted, labels=np.unique(labels), average="macro", zero_division=0))


def probabilities(training: Sequence[Recordings], test: Recordings, emotions: list[str], view: str, C: float
                  ) -> np.ndarray:
    """(test rows of ``emotions``, len(emotions)): ``view``'s model trained on ``training`` over ``emotions``."""
    train, scored = pool(training, emotions), pool([test], [e for e in emotions if e in set(test.manifest["emotion"])])
    model = make_embedding_model(C).fit(train.views[view], train.labels,
                                        model__classify__sample_weight=corpus_balance(train.labels, train.corpora))
    out = np.zeros((len(scored.labels), len(emotions)))
    out[:, model.classes_] = model.predict_proba(scored.views[view])
    return out


def fused_uar(parts: Sequence[dict], truth: np.ndarray, views: Sequence[str], C: float, w: np.ndarray,
              columns: Sequence[int] | None = None) -> float:
    """UAR of the ``w``-weighted views at ``C``, ``parts`` stacked (each {(view, C): probabilities});
    the answer the most probable of ``columns`` (default: every class)."""
    fused = np.vstack([sum(wi * part[(v, C)] for wi, v in zip(w, views)) for part in parts])
    columns = list(range(fused.shape[1])) if columns is None else list(columns)
    return uar(truth, np.asarray(columns)[fused[:, columns].argmax(axis=1)])


def held_out_table(corpora: Sequence[Recordings], views: Sequence[str], Cs: Sequence[float], step: float = 0.1
                   ) -> list[dict]:
    """One row per held-out corpus: UAR of each view at each C, the oracle fusion and the inner pick."""
    rows = []
    grid = weight_grid(len(views), step)
    for held in corpora:
        training = [c for c in corpora if c.name != held.name]
        emotions = pool(training).emotions
        scored = scored_emotions(held, emotions)
        columns = [emotions.index(e) for e in scored]
        truth = np.array([emotions.index(e) for e in held.manifest["emotion"] if e in scored])
        outer = [{(v, C): probabilities(training, held, emotions, v, C) for v in views for C in Cs}]
        row: dict = {"held out": held.name}
        for i, v in enumerate(views):
            row.update({f"{v}, C {C:g}": fused_uar(outer, truth, views, C, np.eye(len(views))[i], columns)
                        for C in Cs})
        oracle = max(((fused_uar(outer, truth, views, C, w, columns), C, w) for C in Cs for w in grid),
                     key=lambda t: t[0])
        row["oracle fusion"], row["oracle pick"] = oracle[0], _pick(views, oracle[1], oracle[2])
        if len(training) >= 2:                   # inner leave-one-corpus-out: each training corpus held out once
            inner = [{(v, C): probabilities([a for a in training if a is not b], b, emotions, v, C)
                      for v in views for C in Cs} for b in training]
            truths = np.concatenate([[emotions.index(e) for e in c.manifest["emotion"] if e in emotions]
                                     for c in training])
            pick = max(((fused_uar(inner, truths, views, C, w), C, w) for C in Cs for w in grid), key=lambda t: t[0])
            row["inner pick"] = _pick(views, pick[1], pick[2])
            row["inner pick's UAR"] = fused_uar(outer, truth, views, pick[1], pick[2], columns)
        rows.append(row)
    return rows


def _pick(views: Sequence[str], C: float, w: np.ndarray) -> str:
    return f"C {C:g}: " + ", ".join(f"{v} {x:.1f}" for v, x in zip(views, w) if x > 0)


def markdown(rows: list[dict]) -> str:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for r in rows:
        lines.append("| " + " | ".join(f"{r[k]:.3f}" if isinstance(r.get(k), float) else str(r.get(k, ""))
                                       for k in keys) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--C", type=float, nargs="+", default=[1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument("--adaptation", nargs="+", default=["none", "corpus"])
    args = parser.parse_args(argv)
    params = load_params(Params)
    corpora = [Recordings.load(n, params.ours) for n in training_corpora(params.corpora, params.roles)]
    for adaptation in args.adaptation:
        print(f"\n### adaptation: {adaptation}\n")
        print(markdown(held_out_table([adapted(c, adaptation) for c in corpora], params.ours.fusion.views, args.C)),
              flush=True)


if __name__ == "__main__":
    main()
