"""Is B better than A on the same test recordings? Paired tests: pure functions of labels, no I/O.

Which randomness a test counts depends on the model:

- **deterministic models** (the SVMs, ours): the test recordings are the only source of noise.
  The verdict comes from an exact test: the **paired sign-flip permutation** test of the UAR difference
  (under "no difference" the two predictions of every recording are exchangeable; ``sign_flip_p``) — and
  the **exact McNemar test** for accuracy beside it; the difference B − A in UAR and accuracy is shown
  with a paired percentile bootstrap interval over recordings (``paired_comparison``). A normal
  approximation to the bootstrap spread (the test before) called 4 of 81 recordings fixed and none
  broken p ≈ 0.04; exactly, it is 2/2⁴ = 0.125.
- **trained networks**: the training run (initial weights, shuffling, early stopping, the CPU's
  float rounding) is a second source, as large on Emo-DB as the effects a review judges: a reseed
  alone moved a hold-out UAR by 17 points. A network is judged as a *procedure* by its replicates:
  hold-out networks by several seeds per side (``replicate_comparison``: the seeds' mean UAR, a
  variance with a training-run part, from the spread over seeds, and a recordings part, from a
  paired bootstrap less what the seed spread already holds, each with its own reference distribution),
  cross-validated ones by their folds,
  each fold its own training run, paired by fold (``fold_comparison``: a paired t over per-fold UAR differences).

Every test gives a two-sided p-value; a review judges many rows at once, so its verdicts come from
Holm-adjusted p-values over the changed rows (``holm``, ``verdicts``): a reseed is then called
clean in at least 1 − α of reseeds as a whole, not row by row.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from emoser.evaluation.scoring import classification_metrics, resampled_scores

BETTER, WORSE, NOISE = "better", "worse", "within noise"
NOT_COMPARABLE = "not comparable"
ONE_RUN = "not judged (one training run)"   # a network with a single run on a side: training noise unknown
# the level each test's interval and p-value is at
RECORDINGS, SEEDS, FOLDS = "recordings", "seeds + recordings", "folds"


def mcnemar_exact(base_correct, head_correct) -> tuple[int, int, float]:
    """(recordings only base got right, recordings only head got right, two-sided exact p).

    The exact (binomial) McNemar test: under "no difference" each discordant recording is a fair
    coin. p = 1 when there are no discordant recordings."""
    base_correct, head_correct = np.asarray(base_correct, bool), np.asarray(head_correct, bool)
    only_base = int(np.sum(base_correct & ~head_correct))
    only_head = int(np.sum(~base_correct & head_correct))
    n = only_base + only_head
    if n == 0:
        return only_base, only_head, 1.0
    return only_base, only_head, float(stats.binomtest(only_head, n, 0.5).pvalue)


def verdict(low: float, high: float) -> str:
    """``better`` if the whole interval of head − base is above 0, ``worse`` if below, else noise."""
    if low > 0:
        return BETTER
    if high < 0:
        return WORSE
    return NOISE


def paired_comparison(actual, base, head, resamples: int, seed: int, level: float = 0.95,
                      n_classes: int | None = None) -> dict:
    """Head − base on the same test items (class indices): each side's accuracy and UAR, the
    differences with paired bootstrap intervals, McNemar's counts and p, and the verdict."""
    actual, base, head = (np.asarray(a, dtype=np.int64) for a in (actual, base, head))
    if not len(actual) == len(base) == len(head):
        raise ValueError(f"paired predictions differ in length: {len(actual)}, {len(base)}, {len(head)}")
    n_classes = n_classes or int(max(actual.max(), base.max(), head.max())) + 1
    everything = np.arange(len(actual))[None, :]
    point_base, point_head = (resampled_scores(actual, side, everything, n_classes) for side in (base, head))
    picks = np.random.default_rng(seed).integers(0, len(actual), size=(resamples, len(actual)))
    boot_base, boot_head = (resampled_scores(actual, side, picks, n_classes) for side in (base, head))
    tail = 100 * (1 - level) / 2
    result: dict = {"n": int(len(actual)), "level": level}
    for score in ("uar", "accuracy"):
        difference = boot_head[score] - boot_base[score]
        result[score] = {"base": float(point_base[score][0]), "head": float(point_head[score][0]),
                         "difference": float(point_head[score][0] - point_base[score][0]),
                         "low": float(np.nanpercentile(difference, tail)),
                         "high": float(np.nanpercentile(difference, 100 - tail))}
    only_base, only_head, p = mcnemar_exact(base == actual, head == actual)
    result["mcnemar"] = {"only_base_right": only_base, "only_head_right": only_head, "p": p}
    result["p"] = sign_flip_p(actual, base, head, n_classes, seed=seed)
    result["verdict"] = p_verdict(result["uar"]["difference"], result["p"], 1 - level)
    result["level_of"] = RECORDINGS
    return result


def p_verdict(difference: float, p: float, alpha: float = 0.05) -> str:
    """better / worse when ``p`` is below ``alpha``, by the sign of the difference; within noise otherwise."""
    return (BETTER if difference > 0 else WORSE) if p < alpha else NOISE


EXACT_SUPPORT = 1 << 16      # sign patterns up to which ``sign_flip_p`` enumerates the exact distribution
FLIP_DRAWS = 200_000         # random sign patterns beyond it


def sign_flip_p(actual, base, head, n_classes: int | None = None, draws: int = FLIP_DRAWS, seed: int = 0) -> float:
    """Two-sided p of the paired UAR difference head − base by the sign-flip permutation test.

    Under "no difference" the two predictions of each recording are exchangeable, so each could have
    come from either side: flipping them flips the recording's share of the difference. Only recordings
    exactly one side got right have a share, ±1/(K·n_c) (K classes present, n_c the recordings of its
    class), so the null distribution is Σ_c (2·A_c − D_c)/(K·n_c) with A_c ~ Binomial(D_c, ½) over the
    D_c discordant recordings of class c. It is enumerated exactly (a convolution over the classes) while
    the patterns number at most ``EXACT_SUPPORT``, and drawn ``draws`` times beyond (p = (1 + hits) /
    (1 + draws), a valid p). With equal class sizes it is the exact McNemar test. Hand-written: scipy's
    ``permutation_test`` enumerates 2^n patterns of the n recordings (or draws them), not these sums."""
    actual, base, head = (np.asarray(a, dtype=np.int64) for a in (actual, base, head))
    n_classes = n_classes or int(max(actual.max(initial=0), base.max(initial=0), head.max(initial=0))) + 1
    support = np.bincount(actual, minlength=n_classes)
    present = support > 0
    k = int(present.sum())
    right_b, right_h = base == actual, head == actual
    only_h = np.bincount(actual[right_h & ~right_b], minlength=n_classes)[present]
    only_b = np.bincount(actual[right_b & ~right_h], minlength=n_classes)[present]
    discordant = only_h + only_b
    share = 1.0 / (k * support[present])
    observed = abs(float(np.sum((only_h - only_b) * share)))
    used = discordant > 0
    if not used.any():
        return 1.0
    discordant, share = discordant[used], share[used]
    tolerance = 1e-12
    if np.prod((discordant + 1).astype(float)) <= EXACT_SUPPORT:
        values, weights = np.zeros(1), np.ones(1)
        for d, w in zip(discordant, share):
            heads = np.arange(d + 1)
            step = (2 * heads - d) * w
            mass = stats.binom.pmf(heads, d, 0.5)
            values = (values[:, None] + step[None, :]).ravel()
            weights = (weights[:, None] * mass[None, :]).ravel()
            values, inverse = np.unique(np.round(values, 12), return_inverse=True)
            weights = np.bincount(inverse.ravel(), weights=weights).astype(np.float64)
        return float(min(1.0, weights[np.abs(values) >= observed - tolerance].sum()))
    rng = np.random.default_rng(seed)
    total = np.zeros(draws)
    for d, w in zip(discordant, share):
        total += (2 * rng.binomial(d, 0.5, size=draws) - d) * w
    return float((1 + np.sum(np.abs(total) >= observed - tolerance)) / (1 + draws))


def _normal_p(difference: float, standard_error: float, df: float = np.inf) -> float:
    """Two-sided p of ``difference`` against 0 (Student's t with ``df``; normal when infinite); a
    difference with no spread at all is certain (p 0), none at all is p 1."""
    if standard_error == 0 or not np.isfinite(standard_error):
        return 1.0 if difference == 0 else 0.0
    return float(2 * stats.t.sf(abs(difference) / standard_error, df))


def _t_interval(difference: float, standard_error: float, df: float, level: float) -> tuple[float, float]:
    half = float(stats.t.ppf(0.5 + level / 2, df)) * standard_error
    return difference - half, difference + half


def _half_width(level: float, training_se: float, df: int, recordings_se: float) -> float:
    """Half the two-part interval: each part's quantile from its own reference distribution — Student's t
    with the runs' degrees of freedom for the training part (its variance is estimated from a few seeds),
    the normal for the recordings part (a bootstrap over 81+ items) — added in quadrature."""
    tail = 0.5 + level / 2
    return float(np.hypot(special.stdtrit(df, tail) * training_se, special.ndtri(tail) * recordings_se))


def _two_part_p(difference: float, training_se: float, df: int, recordings_se: float) -> float:
    """The two-sided p of ``difference`` for ``_half_width``: the level at which the interval's edge
    reaches 0 (scipy's brentq: the half-width grows monotonically with the level)."""
    if training_se == 0 and recordings_se == 0:
        return 1.0 if difference == 0 else 0.0
    if recordings_se == 0:       # the seed spread alone: Student's t
        return float(2 * special.stdtr(df, -abs(difference) / training_se))
    if training_se == 0:
        return float(2 * special.ndtr(-abs(difference) / recordings_se))

    def gap(alpha: float) -> float:
        return _half_width(1 - alpha, training_se, df, recordings_se) - abs(difference)

    if gap(1 - 1e-12) >= 0:
        return 1.0
    if gap(1e-15) <= 0:
        return 0.0
    return float(optimize.brentq(gap, 1e-15, 1 - 1e-12))


def run_scores(actual: np.ndarray, runs: np.ndarray, picks: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """``resampled_scores`` of each run (rows of ``runs``: one training run's predictions) on each resample:
    arrays of shape (runs, resamples)."""
    per_run = [resampled_scores(actual, run, picks, n_classes) for run in runs]
    return {k: np.stack([r[k] for r in per_run]) for k in ("uar", "accuracy")}


def replicate_comparison(actual, base_runs, head_runs, resamples: int, seed: int, level: float = 0.95,
                         n_classes: int | None = None) -> dict:
    """Head − base for two training *procedures*, each given as replicate runs (rows: one seed's
    predictions of the same test items). The statistic is the difference of the seeds' mean UAR
    (and accuracy); its variance has two parts:

    - the training run: the spread of the per-seed scores, pooled over both sides (under the null,
      a reseed, they are one procedure), times 1/S_base + 1/S_head;
    - the recordings: the variance of the same difference over a paired bootstrap of the test items
      (every run's predictions of a resampled item move together), less the part the seed spread
      already counts (``_within_recording``: how much the seeds disagree on each recording). Under a
      reseed the recordings' own effects cancel in the paired difference and what the bootstrap sees is
      that disagreement: counted twice, the interval was wide enough to call a one-epoch network
      (UAR −17.5 points) "within noise".

    The interval adds the two parts' half-widths in quadrature, each from its own reference: Student's t
    with S_base + S_head − 2 degrees of freedom for the training part, the normal for the recordings part
    (``_half_width``); p is the level at which it reaches 0. A single Student's t with Satterthwaite's
    degrees of freedom called 6.1 % of 1000 simulated reseed reviews (5 rows, Holm) better or worse, this
    2.0 %: with 3 seeds a side the estimated training variance is too noisy for a plug-in df. Needs 2 or
    more runs per side."""
    actual = np.asarray(actual, dtype=np.int64)
    base_runs, head_runs = (np.atleast_2d(np.asarray(r, dtype=np.int64)) for r in (base_runs, head_runs))
    if base_runs.shape[1] != len(actual) or head_runs.shape[1] != len(actual):
        raise ValueError(f"paired predictions differ in length: {len(actual)}, {base_runs.shape[1]}, "
                         f"{head_runs.shape[1]}")
    n_base, n_head = len(base_runs), len(head_runs)
    if min(n_base, n_head) < 2:
        raise ValueError(f"replicate_comparison needs 2 or more runs per side, not {n_base} and {n_head}")
    n_classes = n_classes or int(max(actual.max(), base_runs.max(), head_runs.max())) + 1
    everything = np.arange(len(actual))[None, :]
    point_base, point_head = (run_scores(actual, r, everything, n_classes) for r in (base_runs, head_runs))
    picks = np.random.default_rng(seed).integers(0, len(actual), size=(resamples, len(actual)))
    boot_base, boot_head = (run_scores(actual, r, picks, n_classes) for r in (base_runs, head_runs))
    result: dict = {"n": int(len(actual)), "level": level, "level_of": SEEDS, "runs": [n_base, n_head]}
    for score in ("uar", "accuracy"):
        b, h = point_base[score][:, 0], point_head[score][:, 0]
        difference = float(h.mean() - b.mean())
        # the training runs' variance, pooled over both sides (the same procedure under the null: a reseed)
        pooled = ((n_base - 1) * b.var(ddof=1) + (n_head - 1) * h.var(ddof=1)) / (n_base + n_head - 2)
        training = pooled * (1 / n_base + 1 / n_head)
        bootstrap = float(np.nanvar(np.nanmean(boot_head[score], axis=0) - np.nanmean(boot_base[score], axis=0)))
        recordings = max(0.0, bootstrap - _within_recording(actual, base_runs, head_runs, n_classes, score))
        parts = (float(np.sqrt(training)), n_base + n_head - 2, float(np.sqrt(recordings)))
        half = _half_width(level, *parts)
        result[score] = {"base": float(b.mean()), "head": float(h.mean()), "difference": difference,
                         "low": difference - half, "high": difference + half, "base_std": float(b.std(ddof=1)),
                         "head_std": float(h.std(ddof=1)), "df": n_base + n_head - 2,
                         "p": _two_part_p(difference, *parts),
                         "training_share": float(training / (training + recordings)) if training + recordings
                         else 0.0}
    result["p"] = result["uar"]["p"]
    result["verdict"] = verdict(result["uar"]["low"], result["uar"]["high"])
    return result


def _within_recording(actual: np.ndarray, base_runs: np.ndarray, head_runs: np.ndarray, n_classes: int,
                      score: str) -> float:
    """The seed-to-seed part of the bootstrap variance of the seeds'-mean difference: Σ_i w_i² (v_b,i/S_b +
    v_h,i/S_h), with v the variance over seeds (ddof 1) of recording i being right and w_i its weight in
    the score (1/(K·n_c) for UAR, 1/n for accuracy). It is an unbiased estimate of what the spread of the
    per-seed scores holds already (method of moments for crossed seeds × recordings, after Owen 2007)."""
    support = np.bincount(actual, minlength=n_classes)
    if score == "uar":
        weight = 1.0 / (np.count_nonzero(support) * support[actual])
    else:
        weight = np.full(len(actual), 1.0 / len(actual))
    part = 0.0
    for runs in (base_runs, head_runs):
        right = (runs == actual[None, :]).astype(float)
        part += float(np.sum(weight ** 2 * right.var(axis=0, ddof=1)) / len(runs))
    return part


def fold_comparison(base_scores, head_scores, level: float = 0.95) -> dict:
    """Head − base for two cross-validated procedures from their per-fold scores (dicts fold -> UAR
    on that fold's test recordings), paired by fold: every fold is its own training run on both sides
    and tests the same recordings. Student's t over the folds' differences (F − 1 degrees of freedom)."""
    folds = sorted(base_scores)
    if sorted(head_scores) != folds:
        raise ValueError(f"the sides have other folds: {folds} and {sorted(head_scores)}")
    if len(folds) < 2:
        raise ValueError("fold_comparison needs 2 or more folds")
    differences = np.array([head_scores[f] - base_scores[f] for f in folds], dtype=float)
    mean, error = float(differences.mean()), float(differences.std(ddof=1) / np.sqrt(len(folds)))
    df = len(folds) - 1
    low, high = _t_interval(mean, error, df, level) if error > 0 else (mean, mean)
    return {"folds": len(folds), "level": level, "level_of": FOLDS, "difference": mean, "low": low, "high": high,
            "df": df, "p": _normal_p(mean, error, df), "verdict": verdict(low, high)}


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment of ``p_values`` (family-wise error). Six lines here rather than a
    statsmodels dependency for them; scipy has only the false-discovery-rate procedures."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    steps = (len(p) - np.arange(len(p))) * p[order]
    adjusted = np.empty_like(p)
    adjusted[order] = np.minimum(1.0, np.maximum.accumulate(steps))
    return adjusted


def verdicts(differences, p_values, alpha: float = 0.05) -> list[str]:
    """better / worse where the Holm-adjusted p is below ``alpha``, by the sign of the difference;
    within noise otherwise."""
    return [p_verdict(d, q, alpha) for d, q in zip(differences, holm(p_values))]


def _class_index(*tables: pd.DataFrame) -> dict[str, int]:
    """Emotion name -> class index over every name the tables use (sorted): any fixed order scores the
    same, and prediction tables carry names, so a review needs no corpus to pair them."""
    names = set()
    for table in tables:
        names |= set(table["emotion"]) | set(table["predicted"])
    return {name: i for i, name in enumerate(sorted(names))}


def _mismatch(b: pd.DataFrame, h: pd.DataFrame) -> dict | None:
    """Why two keyed tables cannot be paired, or None."""
    if not b.index.equals(h.index):
        only_b, only_h = len(b.index.difference(h.index)), len(h.index.difference(b.index))
        return {"verdict": NOT_COMPARABLE,
                "reason": f"different test recordings ({only_b} only in base, {only_h} only in head)"}
    if not b["emotion"].equals(h["emotion"]):
        return {"verdict": NOT_COMPARABLE, "reason": "the same recordings carry different labels"}
    return None


def _runs(table: pd.DataFrame, index: dict[str, int]) -> tuple[pd.DataFrame, np.ndarray]:
    """A replicates table (columns seed, utterance, emotion, predicted) as the first seed's keyed rows
    and the class indices every seed predicted for them (seeds x items)."""
    seeds = sorted(table["seed"].unique())
    keyed = [_keyed(table[table["seed"] == s]) for s in seeds]
    for other in keyed[1:]:
        if not other.index.equals(keyed[0].index):
            raise ValueError("the seeds of one side scored different test items")
    return keyed[0], np.stack([k["predicted"].map(index).to_numpy() for k in keyed])


def compare_replicates(base: pd.DataFrame, head: pd.DataFrame, resamples: int, seed: int, level: float = 0.95
                       ) -> dict:
    """``replicate_comparison`` of two replicates tables (columns seed, utterance, emotion, predicted;
    each seed scoring the same test items), or not comparable."""
    index = _class_index(base, head)
    (b, b_runs), (h, h_runs) = _runs(base, index), _runs(head, index)
    if (why := _mismatch(b, h)) is not None:
        return why
    return replicate_comparison(b["emotion"].map(index), b_runs, h_runs, resamples, seed, level, len(index))


def _per_fold_uar(table: pd.DataFrame, index: dict[str, int]) -> dict[str, float]:
    classes = list(index)
    return {str(fold): float(classification_metrics(part["emotion"].map(index), part["predicted"].map(index),
                                                    classes)["uar"])
            for fold, part in table.groupby("fold", sort=True)}


def compare_folds(base: pd.DataFrame, head: pd.DataFrame, resamples: int, seed: int, level: float = 0.95) -> dict:
    """Two cross-validated trained models' prediction tables (columns fold, utterance, emotion,
    predicted): ``fold_comparison`` of their per-fold UAR (the verdict's test), beside the paired
    recordings figures of ``compare_tables`` (pooled UAR, McNemar) for reading."""
    pooled = compare_tables(base, head, resamples, seed, level)
    if pooled["verdict"] == NOT_COMPARABLE:
        return pooled
    b, h = _keyed(base), _keyed(head)
    if not b["fold"].astype(str).equals(h["fold"].astype(str)):
        return {"verdict": NOT_COMPARABLE, "reason": "the same recordings sit in other folds"}
    index = _class_index(base, head)
    folds = fold_comparison(_per_fold_uar(base, index), _per_fold_uar(head, index), level)
    return {**pooled, "pooled_uar": pooled["uar"], "uar": {**pooled["uar"], **{k: folds[k] for k in
                                                                               ("difference", "low", "high")}},
            "p": folds["p"], "level_of": FOLDS, "folds": folds["folds"], "verdict": folds["verdict"]}


def compare_models(base: pd.DataFrame, head: pd.DataFrame, base_runs: pd.DataFrame, head_runs: pd.DataFrame,
                   resamples: int, seed: int, level: float = 0.95) -> dict:
    """Base vs head by the test that fits the model (``kind`` of the prediction tables): a hold-out
    network over its seeds (``base_runs``/``head_runs``: replicate tables; one run on a side is not
    judged), a cross-validated network over its folds, a deterministic model over the recordings."""
    args = (resamples, seed, level)
    kind = head["kind"].iloc[0]
    if kind == "network":
        recordings = compare_tables(base, head, *args)
        if recordings["verdict"] == NOT_COMPARABLE:
            return recordings
        seeds_b, seeds_h = base_runs["seed"].nunique(), head_runs["seed"].nunique()
        if min(seeds_b, seeds_h) >= 2:
            return {**compare_replicates(base_runs, head_runs, *args), "mcnemar": recordings["mcnemar"]}
        return {**recordings, "verdict": ONE_RUN, "p": np.nan,
                "reason": f"{seeds_b or 1} / {seeds_h or 1} training runs: one run cannot tell a change from a reseed"}
    if kind == "trained" and base["fold"].nunique() >= 2:
        return compare_folds(base, head, *args)
    return compare_tables(base, head, *args)


def _keyed(table: pd.DataFrame) -> pd.DataFrame:
    nth = table.groupby("utterance", sort=False).cumcount().astype(str)
    return table.set_index(table["utterance"].astype(str) + "#" + nth).sort_index()


def compare_tables(base: pd.DataFrame, head: pd.DataFrame, resamples: int, seed: int, level: float = 0.95
                   ) -> dict:
    """``paired_comparison`` of two prediction tables (columns utterance, emotion, predicted; one
    row per test item: a recording, or under the leaky protocol each scored copy of it, paired by
    their order) — or ``{"verdict": "not comparable", "reason": ...}`` when they do not score the
    same recordings with the same labels."""
    b, h = _keyed(base), _keyed(head)
    if (why := _mismatch(b, h)) is not None:
        return why
    index = _class_index(base, head)
    return paired_comparison(b["emotion"].map(index), b["predicted"].map(index), h["predicted"].map(index),
                             resamples, seed, level, len(index))
