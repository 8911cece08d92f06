"""Do our model's probabilities mean what they say? Calibration under LOSO (stage calibrate).

- **Expected calibration error** (Guo et al., ICML 2017): recordings binned by the model's
  confidence (its highest probability) into equal-width bins; the recording-weighted mean gap
  between each bin's accuracy and its mean confidence. With it the **reliability** table (one
  row per bin), the negative log-likelihood and the Brier score.
- **Temperature scaling**, fitted inside the folds: for each test speaker, our model is fitted
  again on ``inner_folds`` groups of the training speakers (each group held out once, as the
  outer folds hold out the test speaker), the temperature that minimises the negative
  log-likelihood of those held-out probabilities is found, and it calibrates the test speaker's
  probabilities. No test label shapes its own calibration. Temperature keeps each recording's
  ranking of emotions, so the predictions, UAR and accuracy are unchanged.
- The served model's temperature: fitted on every LOSO test probability (each from a model
  that never heard that speaker), as stage ours fits the served model on every recording.
"""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.predictions import fold_rows
from emoser.models.classical.fusion import MODEL, Inner, fit_fold, fuse, inner_groups, standardised_views
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED
from emoser.params.ours import CalibrationParams, OursParams

METRICS = paths.CALIBRATION   # stage calibrate's summary, as stage report publishes it
TEMPERATURE_RANGE = (0.05, 20.0)
RAW, CALIBRATED = "raw", "calibrated"


def confidence_bins(probabilities: np.ndarray, bins: int) -> np.ndarray:
    """Each row's bin of confidence: [0, 1/bins), …, [(bins-1)/bins, 1]."""
    return np.minimum((probabilities.max(axis=1) * bins).astype(int), bins - 1)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> pd.DataFrame:
    """One row per confidence bin: its range, recordings, mean confidence and accuracy (NaN when empty)."""
    which = confidence_bins(probabilities, bins)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    rows = []
    for b in range(bins):
        inside = which == b
        rows.append({"bin": b, "low": b / bins, "high": (b + 1) / bins, "count": int(inside.sum()),
                     "confidence": float(confidence[inside].mean()) if inside.any() else np.nan,
                     "accuracy": float(correct[inside].mean()) if inside.any() else np.nan})
    return pd.DataFrame(rows)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int) -> float:
    table = reliability(probabilities, labels, bins)
    used = table["count"] > 0
    gaps = (table.loc[used, "accuracy"] - table.loc[used, "confidence"]).abs()
    return float((gaps * table.loc[used, "count"]).sum() / len(labels))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean over recordings of −log p(true emotion), p floored at 1e-12.

    Written out rather than ``sklearn.metrics.log_loss``: that clips every probability into
    [eps, 1 − eps] (eps = 2.2e-16), so a recording given p = 1 adds −log(1 − eps), not 0; on random
    temperature-scaled probabilities it differed in 59 of 300 cases, which would move the committed
    figures and every temperature fitted with it (``fit_temperature``)."""
    return float(-np.log(np.clip(probabilities[np.arange(len(labels)), labels], 1e-12, None)).mean())


def brier_score(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Mean over recordings of the squared distance to the one-hot label (0 best, 2 worst).

    ``sklearn.metrics.brier_score_loss(labels, probabilities, labels=range(n), scale_by_half=False)``
    gives the same number (500 random cases, bit for bit), but warns "y_prob values do not sum to one"
    on the probabilities this is given in the pipeline (read back from cv/ours_calibration.csv,
    stored at 6 decimals: rows off by up to 2e-6, sklearn's tolerance is 1.5e-8), a warning that would
    reach every user's log; so it stays written out."""
    onehot = np.eye(probabilities.shape[1])[labels]
    return float(((probabilities - onehot) ** 2).sum(axis=1).mean())


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """p ** (1 / T), renormalised (as ``emoser.serving.served.calibrated``): T < 1 sharpens, T > 1 softens."""
    logs = np.log(np.clip(probabilities, 1e-300, None)) / temperature
    logs -= logs.max(axis=1, keepdims=True)
    out = np.exp(logs) * (probabilities > 0)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature in ``TEMPERATURE_RANGE`` with the lowest negative log-likelihood (golden-section
    search over log T: the likelihood is smooth and single-minimum there).

    Written out rather than ``scipy.optimize.minimize_scalar``: scipy's golden and bounded (Brent)
    searches stop on their own tolerances at other points, so every committed temperature, and the
    served model's calibrated probabilities, would move in their last digits; 60 fixed steps here
    narrow the bracket to ~2e-12 of log T."""
    lo, hi = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    ratio = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(scaled(probabilities, float(np.exp(log_t))), labels)

    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = loss(b)
    return float(np.exp((lo + hi) / 2))


def held_out_temperature(inner: Inner, weights: Mapping[str, float], labels: np.ndarray, fitted_on: str) -> dict:
    """The served model's temperature: fitted on the fused held-out probabilities its weights were
    chosen on (``inner``: with several corpora, each corpus predicted by models that never heard it;
    what a user's own recordings are). A held-out row whose emotion no other group has (probability 0)
    is left out. {value, recordings, fitted_on}."""
    rows, held = inner
    fused = fuse(held, {v: w for v, w in weights.items() if w > 0})
    truth = labels[rows]
    covered = fused[np.arange(len(rows)), truth] > 0
    if covered.sum() < 2:
        return {"value": 1.0, "recordings": int(covered.sum()), "fitted_on": "nothing held out: not scaled"}
    return {"value": round(fit_temperature(fused[covered], truth[covered]), 6), "recordings": int(covered.sum()),
            "fitted_on": fitted_on}


def fold_weights_of(weights: pd.DataFrame, setting: str, protocol: str, fold: str) -> dict[str, float]:
    """One fold's fusion weights as stage ours chose them (cv/ours_weights.csv)."""
    row = weights[(weights["model"] == setting) & (weights["protocol"] == protocol)
                  & (weights["fold"].astype(str) == str(fold))]
    if len(row) != 1:
        raise EmoserError(f"stage calibrate: ours_weights.csv has no weights of {setting} {protocol} fold "
                          f"{fold}; rerun stage ours")
    return {v: float(w) for v, w in row.iloc[0].drop(["model", "protocol", "fold"]).dropna().items()}


def shared_fits(tasks: list[tuple]) -> list[list[int]]:
    """Indices of ``tasks`` (``run_calibration``'s) grouped by setting and the rows they fit on, in order."""
    shared: dict[tuple[str, bytes], list[int]] = {}
    for i, (setting, _, _, _, _, fit, _, _) in enumerate(tasks):
        shared.setdefault((setting, np.asarray(fit).tobytes()), []).append(i)
    return list(shared.values())


def fused_probabilities(tasks: list[tuple], labels: np.ndarray, speakers: np.ndarray, ours: OursParams,
                        n_classes: int, jobs: int) -> list[np.ndarray]:
    """Each task's fused probabilities of the rows it predicts, its views' models fitted on its rows with
    its fold's weights. Tasks that fit on the same rows share one fit: under LOSO with each training
    speaker held out once, fold *f* holding out speaker *s* fits on the very rows that fold *s* holding
    out *f* fits on, so half the inner fits are shared (the fit is the same computation on the same
    rows; its views' probabilities of both speakers, fused with each fold's own weights)."""
    groups = shared_fits(tasks)
    parts = Parallel(n_jobs=jobs)(
        delayed(fit_fold)(tasks[g[0]][4], labels, speakers, tasks[g[0]][5],
                          np.concatenate([tasks[i][6] for i in g]), ours, False, n_classes, tasks[g[0]][7],
                          keep_views=True)
        for g in groups)
    fused: list[np.ndarray] = [np.empty(0)] * len(tasks)
    for g, (probabilities, _) in zip(groups, parts):
        start = 0
        for i in g:
            rows = slice(start, start + len(tasks[i][6]))
            start = rows.stop
            chosen = tasks[i][7]
            fused[i] = fuse({v: probabilities[v][rows] for v in chosen}, chosen)
    return fused


def run_calibration(recordings: pd.DataFrame, views: Mapping[str, np.ndarray], table: pd.DataFrame,
                    ours: OursParams, params: CalibrationParams, weights: pd.DataFrame, jobs: int = -1
                    ) -> pd.DataFrame:
    """Per setting (with, without speaker std.) and test recording of ``params.protocol``: the raw
    and the in-fold calibrated probabilities, and the fold's temperature. Each fold's models are
    fused with the weights stage ours chose in that fold (``weights``), which saw no test speaker."""
    labels = recordings["label"].to_numpy()
    emotions = emotion_order(recordings)
    speakers = recordings["speaker"].to_numpy()
    # (setting, fold, test rows, inner group or None, features, rows fitted on, rows predicted, weights)
    tasks: list[tuple] = []
    for standardise in ours.speaker_standardisation:
        features = standardised_views(views, speakers, standardise)
        setting = MODEL + (SPEAKER_STANDARDISED if standardise else "")
        for protocol, fold, train, test in fold_rows(recordings, table):
            if protocol != params.protocol:
                continue
            chosen = fold_weights_of(weights, setting, protocol, fold)
            tasks.append((setting, fold, test, None, features, train, test, chosen))
            groups = inner_groups(speakers[train], params.inner_folds or len(set(speakers[train])))
            if len(groups) > 1:
                for g, held in enumerate(groups):
                    tasks.append((setting, fold, test, g, features, np.delete(train, held), train[held], chosen))
    fused = fused_probabilities(tasks, labels, speakers, ours, len(emotions), jobs)
    out = []
    for key in dict.fromkeys((setting, fold) for setting, fold, *_ in tasks):
        mine = [(task, p) for task, p in zip(tasks, fused) if (task[0], task[1]) == key]
        (_, _, test, *_), raw = mine[0]
        inner = [(task[6], p) for task, p in mine[1:]]
        if inner:
            rows = np.concatenate([r for r, _ in inner])
            temperature = fit_temperature(np.concatenate([p for _, p in inner]), labels[rows])
        else:
            temperature = 1.0   # one training speaker: nothing to hold out
        calibrated = scaled(raw, temperature)
        out.append(pd.DataFrame({
            "model": key[0], "fold": key[1], "utterance": recordings["utterance"].to_numpy()[test],
            "label": labels[test], "temperature": round(temperature, 6),
            **{f"{RAW}_{e}": raw[:, i].round(6) for i, e in enumerate(emotions)},
            **{f"{CALIBRATED}_{e}": calibrated[:, i].round(6) for i, e in enumerate(emotions)}}))
    return pd.concat(out, ignore_index=True)


def probabilities_of(table: pd.DataFrame, kind: str) -> np.ndarray:
    """The ``kind`` probabilities of a calibration table: its ``kind_<emotion>`` columns, in label order."""
    return table[[c for c in table.columns if c.startswith(f"{kind}_")]].to_numpy()


def summarise(table: pd.DataFrame, params: CalibrationParams) -> dict:
    """Per setting: ECE, NLL and Brier, raw and calibrated; and the folds' temperatures. (The served
    model's temperature is stage fit's: ``held_out_temperature``.)"""
    summary: dict = {"protocol": params.protocol, "bins": params.bins}
    for setting, part in table.groupby("model", sort=False):
        labels = part["label"].to_numpy()
        block: dict = {"recordings": len(part)}
        for kind in (RAW, CALIBRATED):
            p = probabilities_of(part, kind)
            block[kind] = {"ece": expected_calibration_error(p, labels, params.bins),
                           "nll": negative_log_likelihood(p, labels), "brier": brier_score(p, labels),
                           "mean_confidence": float(p.max(axis=1).mean()),
                           "accuracy": float((p.argmax(axis=1) == labels).mean())}
        block["temperature"] = part.groupby("fold", sort=False)["temperature"].first().to_dict()
        summary[setting] = block
    return summary
