"""The results page (reports/results.md), every model under every protocol, and the headline
table the README shows (stage report).

Reads only what earlier stages wrote (metrics/*.json, test predictions, training
histories) and draws the figures it links, so the page always matches the committed metrics.
"""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path, read_csv, read_manifest
from emoser.corpora.manifest import emotion_order
from emoser.evaluation.comparison import FOLDS, NOISE, SEEDS, compare_models, holm, verdicts
from emoser.models.classical import calibration
from emoser.models.classical.fusion import FUSED, SMILE_ENSEMBLE, VOICE, WHISPER, member_name
from emoser.models.classical.fusion import MODEL as OURS
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.networks import ARCHS, LOSSES, VARIANTS
from emoser.protocols.names import LEAKY
from emoser.reporting.corpora import LABELS
from emoser.reporting.figures import confusion_grid, confusion_panel, curves_figure, reliability_figure, save_figure
from emoser.reporting.results import (
    headline_metrics,
    headline_scores,
    prediction_table,
    recorded_presets,
    replicate_table,
)
from emoser.reporting.results_page import BROWSE, build_page, page_data, stored_probabilities

log = logging.getLogger(__name__)
OURS_LABEL = LABELS[OURS]
CV_TITLES = {"loso": "LOSO (leave one speaker out)", "kfold": "k-fold", "leaky": "leaky k-fold (inflated)"}


def cv_titles(speakers: int) -> dict[str, str]:
    """The protocols' titles in the tables, LOSO's naming the corpus's speaker count."""
    return {**CV_TITLES, "loso": f"LOSO ({speakers} speakers)"}


def _read_json(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def collect_scores(study: dict[str, dict], baselines: dict, cv: dict, split_protocol: str, ours: dict | None = None,
                   titles: dict[str, str] = CV_TITLES) -> pd.DataFrame:
    """One row per (model, protocol): pooled accuracy/UAR with intervals and fold mean/std."""
    rows = []
    holdout = f"holdout ({split_protocol})"
    for variant, metrics in study.items():
        rows.append({"model": variant, "protocol": holdout, "kind": "trained", **headline_scores(metrics)})
    for source, kind in ((cv, "trained"), (ours or {}, OURS), (baselines, "baseline")):
        for protocol, block in source.items():
            name = holdout if protocol == "holdout" else titles.get(protocol, protocol)
            for model, result in block.items():
                if isinstance(result, dict) and "pooled" in result:
                    rows.append({"model": model, "protocol": name, "kind": kind, **headline_scores(result["pooled"]),
                                 "fold_mean_uar": result["fold_mean"]["uar"],
                                 "fold_std_uar": result["fold_std"]["uar"],
                                 "folds": len(result["folds"])})
    return pd.DataFrame(rows)


def _cell(row, score: str) -> str:
    return f"{row[score]:.3f} [{row[f'{score}_low']:.3f}, {row[f'{score}_high']:.3f}]"


def _model_label(model: str) -> str:
    if model in VARIANTS:
        arch, loss = model.split("-")
        return f"{arch.upper().replace('_', '-')} {loss} (report)"
    base = model.removesuffix(SPEAKER_STANDARDISED)
    label = LABELS.get(base, f"{base} + SVM")
    return label + (" + speaker std." if model.endswith(SPEAKER_STANDARDISED) else "")


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def scores_table(scores: pd.DataFrame, score: str, listeners: dict[str, float]) -> str:
    protocols = list(dict.fromkeys(scores["protocol"]))
    models = list(dict.fromkeys(scores.sort_values("kind", ascending=False, kind="stable")["model"]))
    rows = []
    for model in models:
        cells = []
        for protocol in protocols:
            hit = scores[(scores["model"] == model) & (scores["protocol"] == protocol)]
            cells.append(_cell(hit.iloc[0], score) if len(hit) else "—")
        rows.append([_model_label(model), *cells])
    if listeners:    # a corpus without a listener test has no listeners row
        rows.append(["human listeners (erkennung.txt)"] +
                    [f"{listeners[p]:.3f}" if p in listeners else "—" for p in protocols])
    n = [f"{protocol} (n={int(scores.loc[scores['protocol'] == protocol, 'n'].max())})" for protocol in protocols]
    return _table(["model", *n], rows)


def fold_table(scores: pd.DataFrame) -> str:
    cv_rows = scores.dropna(subset=["fold_std_uar"])
    cv_rows = cv_rows[cv_rows["folds"] > 1]
    protocols = list(dict.fromkeys(cv_rows["protocol"]))
    rows = []
    for model in dict.fromkeys(cv_rows.sort_values("kind", ascending=False, kind="stable")["model"]):
        cells = []
        for protocol in protocols:
            hit = cv_rows[(cv_rows["model"] == model) & (cv_rows["protocol"] == protocol)]
            cells.append(f"{hit.iloc[0]['fold_mean_uar']:.3f} ± {hit.iloc[0]['fold_std_uar']:.3f}"
                         if len(hit) else "—")
        rows.append([_model_label(model), *cells])
    return _table(["model (UAR, mean ± std over folds)", *protocols], rows)


def per_class_table(block: dict, emotions) -> str:
    models = [m for m, r in block.items() if isinstance(r, dict) and "pooled" in r]
    listeners = block.get("listeners", {}).get("per_class", {})
    rows = []
    for emotion in emotions:
        rows.append([emotion, f"{listeners[emotion]:.3f}" if emotion in listeners else "—",
                     *[f"{block[m]['pooled']['per_class'][emotion]['recall']:.3f}" for m in models]])
    return _table(["emotion", "listeners", *[_model_label(m) for m in models]], rows)


def ablation_section(ablation: dict, scores: pd.DataFrame, titles: dict[str, str] = CV_TITLES) -> str:
    """Each lever of our model measured under LOSO, with and without speaker standardisation,
    beside the best classical baseline and the report's CNN on the same folds."""
    block = ablation.get("loso", {})
    if not block:
        return "No ablation in this run (`ours.ablation: false`, or no `loso` in `cv.protocols`)."
    settings = [m for m in (OURS, OURS + SPEAKER_STANDARDISED) if m in block]
    loso = scores[scores["protocol"] == titles["loso"]]

    def reference(model: str) -> str:
        hit = loso[loso["model"] == model]
        return f"{_cell(hit.iloc[0], 'uar')} / {hit.iloc[0]['accuracy']:.3f}" if len(hit) else "—"

    rows = [[f"reference: {_model_label('cnn-cce')}", reference("cnn-cce"), *["—"] * (len(settings) - 1)],
            ["reference: ComParE 2016 + linear SVM (baseline)",
             *[reference("compare" + m.removeprefix(OURS)) for m in settings]]]
    start = member_name("all")
    order = [start, *[r for m in settings for r in block[m] if r not in (start, FUSED)], FUSED]
    for row in dict.fromkeys(order):
        cells = []
        for model in settings:
            m, base = block[model].get(row), block[model].get(start)
            if m is None:
                cells.append("—")
                continue
            delta = f" ({100 * (m['uar'] - base['uar']):+.1f})" if base and row != start else ""
            cells.append(f"{m['uar']:.3f} [{m['uar_ci']['low']:.3f}, {m['uar_ci']['high']:.3f}]{delta}"
                         f" / {m['accuracy']:.3f}")
        label = {start: "ComParE, all features, one logistic regression",
                 SMILE_ENSEMBLE: "ComParE, ensemble over feature counts",
                 VOICE: "voice encoder statistics, one logistic regression",
                 WHISPER: "Whisper encoder statistics, one logistic regression",
                 FUSED: "**fusion of every view, nested weights (ours)**"}.get(
                     row, row if " + " in row else f"ComParE, {row}")
        rows.append([label, *cells])
    header = ["LOSO, pooled", *[("with" if m.endswith(SPEAKER_STANDARDISED) else "without")
                                + " speaker std.: UAR [CI] (points vs all features) / accuracy" for m in settings]]
    return ("Every row below the references is trained and scored by the `ours` stage on the same LOSO folds, "
            "from the original recordings. 'ComParE, n best features': one class-balanced logistic regression "
            "on the n ComParE 2016 functionals with the highest ANOVA F in its training fold; the ensemble "
            "averages those members' probabilities. 'voice encoder': a class-balanced logistic regression on "
            "the mean and standard deviation over frames of the last LSTM layer of Resemblyzer's pretrained "
            "speaker-verification encoder (GE2E; trained on LibriSpeech and VoxCeleb, never on Emo-DB). "
            "'Whisper encoder': the same on the mean and standard deviation over frames of every layer of "
            "Whisper base's encoder (multilingual speech recognition, never trained on Emo-DB). "
            "Our model averages the views' probabilities with weights chosen inside each training fold "
            "(held-out groups of its training speakers: 'nested weights'); 'equal weights' fixes them in "
            "advance.\n\n" + _table(header, rows))


def leak_paragraph(scores: pd.DataFrame, titles: dict[str, str] = CV_TITLES) -> str:
    """What leaks inflate, from the numbers of this run: one line per model with a protocol pair."""
    def uar(model, protocol):
        hit = scores[(scores["model"] == model) & (scores["protocol"] == titles[protocol])]
        return float(hit.iloc[0]["uar"]) if len(hit) else None

    lines = []
    for model in dict.fromkeys(scores["model"]):
        leaky, kfold, loso = uar(model, "leaky"), uar(model, "kfold"), uar(model, "loso")
        parts = []
        if leaky is not None and kfold is not None:
            parts.append(f"leaky k-fold {leaky:.3f} vs k-fold over source recordings {kfold:.3f}: "
                         f"the augmentation leak adds **{100 * (leaky - kfold):+.1f} points**")
        if kfold is not None and loso is not None:
            parts.append(f"k-fold {kfold:.3f} vs leave-one-speaker-out {loso:.3f}: hearing the test speaker "
                         f"in training adds {100 * (kfold - loso):+.1f} points")
        if parts:
            lines.append(f"- {_model_label(model)}: " + "; ".join(parts) + ".")
    if not lines:
        return "This run has no pair of protocols that isolates a leak (add `leaky` or `kfold` to `cv.protocols`)."
    return ("UAR of the same model and features under protocols that differ in one leak only:\n\n"
            + "\n".join(lines))


def headline(scores: pd.DataFrame, listeners: dict[str, float], titles: dict[str, str] = CV_TITLES) -> str:
    """The best leak-free results of this run, in one paragraph."""
    loso = scores[scores["protocol"] == titles["loso"]]
    if loso.empty:
        return ""
    def best(rows):
        row = rows.sort_values("uar", ascending=False).iloc[0]
        return f"{_model_label(row['model'])}, UAR {_cell(row, 'uar')}"
    text = [f"Speaker-independent (LOSO) best: {best(loso)}"]
    plain = loso[~loso["model"].str.endswith(SPEAKER_STANDARDISED)]
    if len(plain) < len(loso) and len(plain):
        text.append(f"without speaker standardisation: {best(plain)}")
    own = loso[loso["kind"] == OURS].set_index("model")
    if len(own) > 1 and loso.sort_values("uar").iloc[-1]["kind"] != OURS:
        text.append("our model with / without speaker std.: " + " / ".join(
            _cell(own.loc[m], "uar") for m in (OURS + SPEAKER_STANDARDISED, OURS) if m in own.index))
    trained = loso[loso["kind"] == "trained"]
    if len(trained):
        text.append(f"best of the report's variants: {best(trained)}")
    if titles["loso"] in listeners:
        text.append(f"human listeners on the same recordings: {listeners[titles['loso']]:.3f}")
    return "; ".join(text) + ". (The student report's 0.906 test accuracy came from its leaky protocol.)"


def headline_table(scores: pd.DataFrame, listeners: dict[str, float], holdout: str,
                   titles: dict[str, str] = CV_TITLES) -> str:
    """The README's results: each model once (speaker std. as its own column), UAR with 95 % intervals
    under leave-one-speaker-out, k-fold and the leaky protocol, and hold-out accuracy."""
    columns = [(titles["loso"], "", "uar", "LOSO UAR"),
               (titles["loso"], SPEAKER_STANDARDISED, "uar", "LOSO UAR, speaker std."),
               (titles["kfold"], "", "uar", "k-fold UAR"),
               (titles["leaky"], "", "uar", "leaky k-fold UAR (inflated)"),
               (holdout, "", "accuracy", f"hold-out accuracy ({holdout.removeprefix('holdout (').rstrip(')')} split)")]
    columns = [c for c in columns if (scores["protocol"] == c[0]).any()]
    ranked = scores[scores["protocol"] == titles["loso"]].sort_values("uar", ascending=False)
    bases = list(dict.fromkeys(m.removesuffix(SPEAKER_STANDARDISED) for m in [*ranked["model"], *scores["model"]]))
    rows = []
    for base in bases:
        cells = []
        for protocol, suffix, score, _ in columns:
            hit = scores[(scores["model"] == base + suffix) & (scores["protocol"] == protocol)]
            cells.append(f"{hit.iloc[0][score]:.3f} [{hit.iloc[0][f'{score}_low']:.3f}, "
                         f"{hit.iloc[0][f'{score}_high']:.3f}]" if len(hit) else "—")
        if any(c != "—" for c in cells):
            rows.append([_model_label(base), *cells])
    if listeners:
        rows.append(["human listeners (erkennung.txt)",
                     *[f"{listeners[p]:.3f}" if p in listeners and not suffix else "—" for p, suffix, _, _ in columns]])
    return _table(["model", *[title for *_, title in columns]], rows)


def comparison_pairs(predictions: pd.DataFrame, headline: dict) -> list[tuple[str, str, str, str]]:
    """(protocol, question, A, B) for the report's paired tests: in each setting our model (B)
    against the best classical model (A, by UAR), and the report's variants that differ in one
    factor: MSE (A) vs cross-entropy (B), CNN (A) vs CNN-LSTM (B). Leaky protocols are left out."""
    pairs = []
    kinds = predictions.drop_duplicates(["protocol", "model"]).set_index(["protocol", "model"])["kind"]
    for protocol in dict.fromkeys(predictions["protocol"]):
        if LEAKY in protocol:
            continue
        models = kinds.loc[protocol]
        for suffix in ("", SPEAKER_STANDARDISED):
            classical = [m for m, k in models.items() if k == "baseline" and m.endswith(suffix)
                         and (suffix or not m.endswith(SPEAKER_STANDARDISED))]
            if OURS + suffix in models.index and classical:
                best = max(classical, key=lambda m: headline[protocol][m]["uar"])
                setting = ", speaker std." if suffix else ""
                pairs.append((protocol, f"ours vs best classical{setting}", best, OURS + suffix))
        variants = [m for m in models.index if m in VARIANTS]
        for arch in ARCHS:
            if all(f"{arch}-{loss}" in variants for loss in LOSSES):
                pairs.append((protocol, f"{arch}: cross-entropy vs MSE", f"{arch}-mse", f"{arch}-cce"))
        for loss in LOSSES:
            if all(f"{arch}-{loss}" in variants for arch in ARCHS):
                pairs.append((protocol, f"{loss}: CNN-LSTM vs CNN", f"cnn-{loss}", f"cnn_lstm-{loss}"))
    return pairs


def paired_tests(predictions: pd.DataFrame, runs: pd.DataFrame, headline: dict, evaluate: EvaluateParams
                 ) -> list[tuple[str, str, str, str, dict]]:
    """(protocol, question, A, B, result) of every pair ``comparison_pairs`` asks about: A and B on
    the same test recordings (``emoser.evaluation.comparison.compare_models``)."""
    tests = []
    for protocol, question, a, b in comparison_pairs(predictions, headline):
        part = predictions[predictions["protocol"] == protocol]
        in_protocol = runs[runs["protocol"] == protocol] if len(runs) else runs
        result = compare_models(part[part["model"] == a], part[part["model"] == b],
                                in_protocol[in_protocol["model"] == a], in_protocol[in_protocol["model"] == b],
                                evaluate.bootstrap_resamples, evaluate.seed, evaluate.ci_level)
        tests.append((protocol, question, a, b, result))
    return tests


def _interval_over(result: dict) -> str:
    """The level a comparison's interval is taken over, as the table names it."""
    if result["level_of"] == SEEDS:
        return f"{SEEDS} ({result['runs'][0]} + {result['runs'][1]} runs)"
    if result["level_of"] == FOLDS:
        return f"{FOLDS} ({result['folds']}, paired)"
    return result["level_of"]


def _judged_row(protocol: str, question: str, a: str, b: str, result: dict, adjusted: float, verdict: str
                ) -> list[str]:
    """One judged comparison as a row of the pairwise table."""
    uar, acc, mcnemar = result["uar"], result["accuracy"], result.get("mcnemar")
    figures = (f"{uar['base']:.3f} ± {uar['base_std']:.3f}", f"{uar['head']:.3f} ± {uar['head_std']:.3f}") \
        if result["level_of"] == SEEDS else (f"{uar['base']:.3f}", f"{uar['head']:.3f}")
    return [protocol, question, _model_label(a), _model_label(b), *figures,
            f"{uar['difference']:+.3f} [{uar['low']:+.3f}, {uar['high']:+.3f}]", _interval_over(result),
            f"{acc['difference']:+.3f}" + (f"; p = {mcnemar['p']:.3g} ({mcnemar['only_base_right']} / "
                                           f"{mcnemar['only_head_right']})" if mcnemar else ""),
            f"{result['p']:.3g} ({adjusted:.3g})", f"**{verdict}**" if verdict != NOISE else verdict]


def _pairwise_method(evaluate: EvaluateParams) -> str:
    """How the pairwise table's intervals, p-values and verdicts are made."""
    return ("Each row scores A and B on the same test recordings, with the "
            f"{100 * evaluate.ci_level:.0f} % interval of UAR B − A at the "
            "level its models' noise lives at ('interval over'). *recordings*: deterministic models; a paired "
            f"percentile bootstrap over recordings ({evaluate.bootstrap_resamples} resamples). *seeds + "
            "recordings*: hold-out networks, each a training procedure run with several seeds (`train.replicates`; "
            "UAR as mean ± standard deviation over seeds): the difference of the seeds' means, its variance the "
            "spread over seeds (Student's t, 2S − 2 df) plus a paired bootstrap over recordings (normal), "
            "their half-widths added in quadrature. *folds*: "
            "cross-validated networks, each fold a training run on both sides: a paired t over per-fold UAR "
            "differences. Accuracy: the difference, and for paired recordings an exact McNemar test (only A / "
            "only B right; a network's named seed). p: the test's two-sided p-value and, in brackets, "
            f"Holm-adjusted over this table's rows; verdict better / worse when the adjusted p is below "
            f"{1 - evaluate.ci_level:.2g}, else within noise.")


def _what_settles(predictions: pd.DataFrame, runs: pd.DataFrame, widths: list[float]) -> str:
    """How small a difference the hold-out test set and seeds can tell from a reseed."""
    n = int(predictions[predictions["kind"] == "network"].groupby(["protocol", "model"]).size().max())
    return (f"**What {n} test recordings and {int(runs.groupby('model')['seed'].nunique().min())} seeds "
            f"per network can settle:** the hold-out intervals above are ±{min(widths):.3f} to "
            f"±{max(widths):.3f} UAR wide, so a difference between two training procedures smaller than about "
            f"{min(widths):.2f} cannot be told from a reseed here; more seeds narrow the training part "
            "(1/√seeds), more test recordings the other. Cross-validation scores every recording once and "
            "pairs by fold: where a question matters, ask it there (`cv.variants`).")


def pairwise_section(predictions: pd.DataFrame, runs: pd.DataFrame, headline: dict, evaluate: EvaluateParams
                     ) -> str:
    """Paired tests on the same test recordings (``paired_tests``), each at the level its models' noise
    lives at, Holm-adjusted over the table; and what they say about the seed report's
    "cross-entropy is more effective than MSE"."""
    tests = paired_tests(predictions, runs, headline, evaluate)
    if not tests:
        return "This run has no pair of models scored on the same recordings."
    judged = [i for i, t in enumerate(tests) if "uar" in t[4] and not np.isnan(t[4]["p"])]
    adjusted = dict(zip(judged, holm([tests[i][4]["p"] for i in judged])))
    judged_verdicts = dict(zip(judged, verdicts([tests[i][4]["uar"]["difference"] for i in judged],
                                                [tests[i][4]["p"] for i in judged], 1 - evaluate.ci_level)))
    rows, loss_verdicts, widths = [], [], []
    for i, (protocol, question, a, b, result) in enumerate(tests):
        if i not in judged:
            rows.append([protocol, question, _model_label(a), _model_label(b), *["—"] * 6, result["verdict"]])
            continue
        rows.append(_judged_row(protocol, question, a, b, result, adjusted[i], judged_verdicts[i]))
        uar = result["uar"]
        if result["level_of"] == SEEDS:
            widths.append((uar["high"] - uar["low"]) / 2)
        if "cross-entropy vs MSE" in question:
            loss_verdicts.append(f"{question.split(':')[0]} under {protocol}: B − A = {uar['difference']:+.3f} "
                                 f"[{uar['low']:+.3f}, {uar['high']:+.3f}] over {_interval_over(result)}, "
                                 f"Holm-adjusted p = {adjusted[i]:.3g} → {judged_verdicts[i]}")
    level = f"{100 * evaluate.ci_level:.0f} %"
    text = [_pairwise_method(evaluate), "",
            _table(["protocol", "question", "A", "B", "UAR A", "UAR B", f"UAR B − A [{level}]", "interval over",
                    "accuracy B − A; McNemar p (only A / only B)", "p (Holm)", "verdict"], rows)]
    if widths:
        text += ["", _what_settles(predictions, runs, widths)]
    if loss_verdicts:
        text += ["", "**The seed report's claim, \"cross-entropy is more effective than MSE\"**: "
                 + "; ".join(loss_verdicts) + "."]
    return "\n".join(text)


def preset_section(study: dict[str, dict], split_protocol: str, runs: list[dict]) -> str:
    """The recorded runs of presets (``emoser.params.presets``: the student report's own configuration) beside
    this run's defaults: each variant's hold-out UAR over seeds."""
    if not runs:
        return ("No preset run recorded (`dvc exp run $(emoser preset report)`, then `emoser preset report "
                "--record`).")
    columns = [(f"defaults, {split_protocol} split (this run)", {v: m for v, m in study.items()})]
    runs = sorted(runs, key=lambda run: run["split_protocol"] == LEAKY)     # the leaky split last
    for run in runs:
        leaky = " [LEAKY: inflated]" if run["split_protocol"] == "leaky" else ""
        columns.append((f"preset `{run['preset']}`, {run['split_protocol']} split{leaky}", run["variants"]))

    def cell(m: dict | None) -> str:
        if not m:
            return "—"
        replicates = m.get("replicates", m)
        spread = (f"{replicates['uar_mean']:.3f} ± {replicates['uar_std']:.3f} ({len(replicates['seeds'])} seeds); "
                  if "uar_mean" in replicates else "")
        return f"{spread}named seed {m['uar']:.3f} [{m['uar_ci']['low']:.3f}, {m['uar_ci']['high']:.3f}]"

    rows = [[_model_label(v), *[cell(variants.get(v)) for _, variants in columns]] for v in VARIANTS]
    overrides = runs[0]["overrides"]
    return ("The student report's own features and networks, as the params preset `presets/report.yaml` "
            "(every difference from params.yaml and why: README, and the file's comments): "
            + ", ".join(f"`{k}: {json.dumps(v)}`" for k, v in overrides.items())
            + ". Run once per split with `dvc exp run $(emoser preset report) [-S split.protocol=leaky]` and "
            "recorded by `emoser preset report --record` (`presets/results/`): a recorded run, not rebuilt by "
            "`dvc repro`. Hold-out UAR, mean ± standard deviation over seeds, and the named seed's with its "
            "95 % interval.\n\n" + _table(["model", *[title for title, _ in columns]], rows)
            + "\n\nAccuracy, mean over seeds (the report claimed 0.906 test accuracy): "
            + "; ".join(f"{run['split_protocol']} split: " + ", ".join(
                f"{_model_label(v)} {m['accuracy_mean']:.3f}" for v, m in run["variants"].items()
                if "accuracy_mean" in m) for run in runs) + ".")


def seed_spread_table(study: dict[str, dict]) -> str:
    """Each hold-out network's UAR over its seeds: the named seed's (what ships and what the tables
    above show), the seeds' mean ± standard deviation and range."""
    rows = []
    for variant, metrics in study.items():
        replicates = metrics.get("replicates")
        if not replicates:
            continue
        uars = [r["uar"] for r in replicates["per_seed"].values()]
        epochs = [r["epochs_run"] for r in replicates["per_seed"].values()]
        rows.append([_model_label(variant), f"{metrics['uar']:.3f} (seed {replicates['named_seed']})",
                     f"{replicates['uar_mean']:.3f} ± {replicates['uar_std']:.3f}", f"{min(uars):.3f}–{max(uars):.3f}",
                     ", ".join(f"{s}: {u:.3f}" for s, u in zip(replicates["seeds"], uars)),
                     f"{min(epochs)}–{max(epochs)}"])
    if not rows:
        return "No hold-out network was trained with more than one seed (`train.replicates: 1`)."
    return ("The same network and data, only the training seed changed (initial weights, shuffling, and through "
            "them early stopping). This spread is what a single training run cannot tell apart from a change of "
            "method; reviews and the paired tests judge hold-out networks by it.\n\n"
            + _table(["model", "UAR, named seed", "UAR over seeds: mean ± std", "range", "per seed",
                      "epochs run"], rows))


def calibration_section(summary: dict, table: pd.DataFrame, figures: Path) -> str:
    """ECE, NLL and Brier of our model's probabilities, raw and calibrated in the folds, and the
    reliability diagram (drawn into ``figures``)."""
    bins = summary["bins"]
    rows, panels = [], {}
    for setting, part in table.groupby("model", sort=False):
        block = summary[setting]
        raw, cal = block[calibration.RAW], block[calibration.CALIBRATED]
        temperatures = np.array(list(block["temperature"].values()), dtype=float)
        rows.append([_model_label(setting), f"{raw['ece']:.3f} → **{cal['ece']:.3f}**",
                     f"{raw['nll']:.3f} → {cal['nll']:.3f}", f"{raw['brier']:.3f} → {cal['brier']:.3f}",
                     f"{raw['mean_confidence']:.3f} → {cal['mean_confidence']:.3f}", f"{raw['accuracy']:.3f}",
                     f"{np.median(temperatures):.2f} ({temperatures.min():.2f}–{temperatures.max():.2f})"])
        labels = part["label"].to_numpy()
        panels[_model_label(setting)] = {kind: calibration.reliability(calibration.probabilities_of(part, kind),
                                                                       labels, bins)
                                         for kind in (calibration.RAW, calibration.CALIBRATED)}
    save_figure(reliability_figure(panels, f"{summary['protocol'].upper()} test recordings, {bins} confidence bins"),
                figures / "reliability.png")
    return "\n".join([
        f"Expected calibration error (ECE, {bins} equal-width bins of the highest probability), negative "
        "log-likelihood and Brier score of our model's test probabilities under "
        f"{summary['protocol'].upper()}: raw → after temperature scaling fitted inside each fold (on held-out "
        "groups of that fold's training speakers; src/emoser/models/classical/calibration.py). Temperature keeps every "
        "recording's ranking of emotions, so predictions, UAR and accuracy do not change. "
        "`emoser predict` serves the fusion trained on every corpus with its own temperature, fitted in stage fit "
        "on the probabilities its inner leave-one-corpus-out held out: recordings of a corpus its models never heard, "
        "as a user's are (docs/predict.md).",
        "",
        _table(["model", "ECE", "NLL", "Brier", "mean confidence", "accuracy", "temperature per fold: median (range)"],
               rows),
        "",
        "![reliability diagrams](figures/reliability.png)",
    ])


def _confusion_panels(predictions: pd.DataFrame, block: dict, emotions) -> list[tuple[np.ndarray, str]]:
    panels = []
    for model, rows in predictions.groupby("model", sort=False):
        pooled = block[model]["pooled"]
        panels.append(confusion_panel(rows, f"{_model_label(model)}\nUAR {pooled['uar']:.3f} "
                                            f"[{pooled['uar_ci']['low']:.3f}, {pooled['uar_ci']['high']:.3f}], "
                                            f"acc {pooled['accuracy']:.3f}, n={pooled['test_size']}", emotions))
    return panels


def _summaries() -> tuple[dict, dict, dict, dict]:
    """The published summaries the page is made of: the study's networks, the baselines, cv, ours."""
    study = {v: _read_json(paths.METRICS / "study" / f"{v}.json") for v in VARIANTS}
    study = {v: m for v, m in study.items() if m}
    baselines = _read_json(paths.METRICS / "baselines.json")
    cv = _read_json(paths.METRICS / "cv.json")
    ours = _read_json(paths.METRICS / "ours.json")
    if not (study or baselines or cv or ours):
        raise EmoserError(f"nothing to report: no scores in {paths.METRICS}/ (model.json, study/, baselines.json, "
                          "cv.json, ours.json); `dvc repro` makes them before the report")
    return study, baselines, cv, ours


def _preamble(title: str, corpus: paths.CorpusData, split_protocol: str, cv_params: CvParams,
              evaluate: EvaluateParams) -> list[str]:
    """The page's title and what every figure on it is: protocols, intervals, settings."""
    return [
        f"# {title} results",
        "",
        "Generated by `dvc repro` (stage `report`) from the committed metrics; do not edit by hand.",
        f"**Listen to the errors:** open [{BROWSE}]({BROWSE}) in a browser (click a confusion-matrix cell to hear "
        f"its recordings; it plays them from `{corpus.raw / 'wav'}/`).",
        f"Hold-out split: `{split_protocol}`; cross-validation: {', '.join(cv_params.protocols)} "
        f"(k={cv_params.k}); trained variants under cv: {', '.join(cv_params.variants) or 'none'}.",
        "Every test set scores original recordings only, except the labelled leaky protocols. "
        "Intervals: percentile bootstrap over test recordings "
        f"({evaluate.bootstrap_resamples} resamples, {100 * evaluate.ci_level:.0f} %). "
        "Cross-validated scores are pooled over all folds' test predictions. "
        "'speaker std.' z-scores each speaker's features over their own recordings (the test "
        "speaker's unlabelled audio): a separate, transductive setting.",
        "",
    ]


def build_report(split_protocol: str, cv_params: CvParams, evaluate: EvaluateParams, corpus: paths.CorpusData,
                 title: str, gloss: Mapping[str, str] | None = None, out_dir: Path = paths.REPORTS
                 ) -> tuple[str, str, dict]:
    """The results page, the headline table (Markdown) for the README, and the headline metrics
    (``results.headline_metrics``: what dvc.yaml declares as metrics) of the networks' corpus
    (``corpus``, called ``title``; ``gloss``: its sentences in English, for the results page; the
    other corpora: ``emoser.reporting.corpora``)."""
    figures = out_dir / "figures"
    study, baselines, cv, ours = _summaries()
    manifest = read_manifest(corpus.manifest)
    emotions, titles = emotion_order(manifest), cv_titles(manifest["speaker"].nunique())
    scores = collect_scores(study, baselines, cv, split_protocol, ours, titles)
    holdout = f"holdout ({split_protocol})"
    metrics = headline_metrics()

    listeners = _listeners(study, (baselines, cv, ours), holdout, titles)
    predictions_all = prediction_table(corpus=corpus)
    _write_browse_page(out_dir / BROWSE, manifest, predictions_all, metrics, corpus, title, gloss)
    sections = [
        *_preamble(title, corpus, split_protocol, cv_params, evaluate),
        headline(scores, listeners, titles),
        "",
        "## Unweighted average recall (UAR)",
        "",
        scores_table(scores, "uar", listeners),
        "",
        "## Accuracy",
        "",
        scores_table(scores, "accuracy", listeners),
        "",
        "## Spread over training runs: seeds (hold-out)",
        "",
        seed_spread_table(study),
        "",
        "## The student report's own configuration (preset)",
        "",
        preset_section(study, split_protocol, recorded_presets()),
        "",
        "## Spread over folds",
        "",
        fold_table(scores),
        "",
        "## Our model: what each lever adds (LOSO)",
        "",
        ablation_section(_read_json(paths.METRICS / "ablation.json"), scores, titles),
        "",
        "## What leaks inflate",
        "",
        leak_paragraph(scores, titles),
        "",
        *(["## Do our model's probabilities mean what they say? (calibration)", "",
           calibration_section(json.loads(calibration.METRICS.read_text()),
                               read_csv(corpus.ours_calibration, dtype={"fold": str}), figures), ""]
          if calibration.METRICS.exists() else []),
        "## Paired tests: is B better than A on the same recordings?",
        "",
        pairwise_section(predictions_all, replicate_table(), metrics, evaluate),
        "",
    ]
    class_block = cv.get("loso") or baselines.get("loso") or ours.get("loso")
    if class_block:
        merged = {**baselines.get("loso", {}), **ours.get("loso", {}), **cv.get("loso", {})}
        sections += ["## Recall per emotion, LOSO, beside the listeners", "", per_class_table(merged, emotions), ""]
    sections += _confusion_sections((baselines, ours, cv), study, emotions, holdout, titles, figures, corpus)
    return "\n".join(sections), headline_table(scores, listeners, holdout, titles), metrics


def _listeners(study: dict, summaries: tuple[dict, ...], holdout: str, titles: dict) -> dict[str, Any]:
    """Emo-DB's listeners' overall recognition per protocol title, where the summaries carry it."""
    listeners: dict[str, Any] = {}
    if study:
        listeners[holdout] = next(iter(study.values())).get("listeners")
    for source in summaries:
        for protocol, block in source.items():
            name = holdout if protocol == "holdout" else titles.get(protocol, protocol)
            if "listeners" in block:
                listeners[name] = block["listeners"]["overall"]
    return {k: v for k, v in listeners.items() if v is not None}


def _write_browse_page(path: Path, manifest: pd.DataFrame, predictions: pd.DataFrame, metrics: dict,
                       corpus: paths.CorpusData, title: str, gloss: Mapping[str, str] | None) -> None:
    """The results page (one offline HTML file): every model's test predictions, calibrated where stage
    calibrate stored them; the sentences' glosses where the corpus's layout has them."""
    table = corpus.ours_calibration
    stored = (stored_probabilities(read_csv(table, dtype={"fold": str}),
                                   json.loads(calibration.METRICS.read_text())["protocol"])
              if table.exists() and calibration.METRICS.exists() else stored_probabilities(None, ""))
    labels = {model: _model_label(model) for model in predictions["model"].unique()}
    audio = f"{os.path.relpath(corpus.raw / 'wav', path.parent)}/"
    with atomic_path(path) as tmp:
        tmp.write_text(build_page(page_data(manifest, predictions, metrics, stored, labels, gloss, audio),
                                  title))


def _confusion_sections(summaries: tuple[dict, dict, dict], study: dict, emotions: Sequence[str], holdout: str,
                        titles: dict, figures: Path, corpus: paths.CorpusData) -> list[str]:
    """The confusion-matrix figures per protocol (baselines, ours, cv networks) and of the report's
    variants, with the training curves; the page's lines that show them."""
    baselines, ours, cv = summaries
    predictions = pd.concat([read_csv(p, dtype={"fold": str, "speaker": str})
                             for p in (corpus.cv_predictions, corpus.ours_predictions, corpus.baseline_predictions)
                             if p.exists()],
                            ignore_index=True)
    sections = ["## Confusion matrices (pooled test predictions)", ""]
    for protocol in dict.fromkeys(predictions["protocol"]):
        part = predictions[predictions["protocol"] == protocol]
        block = {**baselines.get(protocol, {}), **ours.get(protocol, {}), **cv.get(protocol, {})}
        panels = _confusion_panels(part, block, emotions)
        name = f"confusion-{protocol}.png"
        save_figure(confusion_grid(panels, emotions), figures / name)
        title = holdout if protocol == "holdout" else titles.get(protocol, protocol)
        sections += [f"### {title}", "", f"![confusion matrices, {title}](figures/{name})", ""]
    if study:
        panels = []
        for variant in study:
            samples = read_csv(paths.PLOTS / "study" / variant / "confusion.csv")
            m = study[variant]
            title = (f"{_model_label(variant)}\nUAR {m['uar']:.3f} [{m['uar_ci']['low']:.3f}, "
                     f"{m['uar_ci']['high']:.3f}], acc {m['accuracy']:.3f}, n={m['test_size']}")
            panels.append(confusion_panel(samples, title, emotions, actual="actual"))
        save_figure(confusion_grid(panels, emotions, columns=2), figures / "confusion-study.png")
        histories = {_model_label(v): pd.read_csv(paths.PLOTS / "study" / v / "history.csv") for v in study}
        save_figure(curves_figure(histories, f"training curves, {holdout} split (dot: kept epoch)"),
                    figures / "curves.png")
        sections += [f"### The report's four variants, {holdout}", "",
                     "![confusion matrices, report variants](figures/confusion-study.png)", "",
                     "## Training curves", "", "![validation curves](figures/curves.png)", ""]
    return sections

