"""One version of the results, as the report stage and ``emoser review`` read it: the headline
metrics (per protocol x model: UAR, accuracy, their intervals, n) and every model's per-recording
test predictions.

Both are built through ``read_text(path) -> str | None``, so the same code reads the workspace,
a git revision or the DVC cache of one (``emoser.reporting.review``).
"""
from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import yaml

from emoser.core import paths
from emoser.core.files import read_csv
from emoser.evaluation.scoring import scored_models
from emoser.models.networks.saved import REPLICATES_FILE
from emoser.params.networks import VARIANTS
from emoser.protocols.names import HOLDOUT, LEAKY

Reader = Callable[[Path], "str | None"]
HEADLINE_METRICS = paths.METRICS / "headline.json"   # the only file dvc.yaml declares as metrics
# The evaluated hold-out networks: the shipped model and the report's four variants.
NETWORKS = ("model", *(f"study/{v}" for v in VARIANTS))
# Cross-validated and classical models of the networks' corpus: (kind, its summary in metrics/).
SUMMARIES = (("trained", paths.METRICS / "cv.json"), ("ours", paths.METRICS / "ours.json"),
             ("baseline", paths.METRICS / "baselines.json"))
LEGACY_PREDICTIONS = paths.DATA / "cv"   # their predictions' folder before every corpus had its own (older revisions)
SCORES = ("uar", "uar_low", "uar_high", "accuracy", "accuracy_low", "accuracy_high", "n")
PREDICTION_COLUMNS = ["protocol", "model", "kind", "fold", "utterance", "emotion", "predicted"]
REPLICATE_COLUMNS = ["protocol", "model", "seed", "utterance", "emotion", "predicted"]


def recorded_presets(folder: Path = paths.PRESET_RESULTS) -> list[dict]:
    """Every recorded run of a params preset (``emoser preset NAME --record``), in file order."""
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []


def workspace(path: Path) -> str | None:
    """The workspace's copy of ``path`` (None if absent)."""
    return path.read_text() if path.exists() else None


def network_model(name: str) -> str:
    """A hold-out network's model name in the tables: ``model`` or the variant (``cnn-cce``)."""
    return name.removeprefix("study/")


def holdout_protocol(leaky: bool) -> str:
    """The protocol key of hold-out results: ``holdout``, or ``holdout-leaky`` for the leaky split."""
    return f"{HOLDOUT}-{LEAKY}" if leaky else HOLDOUT


def headline_scores(pooled: dict) -> dict[str, float | int]:
    """The figures a reviewer compares, from a scored block (``scoring.scored_with_intervals``)."""
    return {"uar": pooled["uar"], "uar_low": pooled["uar_ci"]["low"], "uar_high": pooled["uar_ci"]["high"],
            "accuracy": pooled["accuracy"], "accuracy_low": pooled["accuracy_ci"]["low"],
            "accuracy_high": pooled["accuracy_ci"]["high"], "n": int(pooled["test_size"])}


def _json(read_text: Reader, path: Path) -> dict:
    text = read_text(path)
    return json.loads(text) if text else {}


def twin(metrics: dict) -> str:
    """The study network a hold-out network's replicates are under: the shipped ``model`` is a copy
    of its study twin's named seed (stage train), so the twin's seeds are its replicates."""
    return f"study/{metrics['arch']}-{metrics['loss']}"


def replicates_of(name: str, metrics: dict, read_text: Reader) -> dict | None:
    """A hold-out network's ``replicates`` block (stage evaluate): its own, or its study twin's."""
    if "replicates" in metrics:
        return metrics["replicates"]
    if name == "model":
        return _json(read_text, paths.METRICS / f"{twin(metrics)}.json").get("replicates")
    return None


def networks_corpus(read_text: Reader = workspace) -> paths.CorpusData | None:
    """The networks' corpus (params ``roles.networks``) of one version; None before roles existed."""
    text = read_text(Path("params.yaml"))
    name = ((yaml.safe_load(text) or {}).get("roles") or {}).get("networks") if text else None
    return paths.corpus_data(name) if isinstance(name, str) else None


def predictions_of(corpus: paths.CorpusData | None) -> dict[str, tuple[Path, ...]]:
    """{kind: per-recording predictions, where each has been} of the networks' corpus, for each of
    ``SUMMARIES``: its place now, then under data/corpora/NAME/cv/ (before data/study/), or data/cv/
    before roles existed; the first that a version holds is its."""
    if corpus is None:
        return {kind: (LEGACY_PREDICTIONS / f"{name}.csv",)
                for kind, name in (("trained", "trained"), ("ours", "ours"), ("baseline", "baselines"))}
    before = paths.CORPORA / corpus.name / "cv"
    return {kind: (path, before / path.name) for kind, path in
            (("trained", corpus.cv_predictions), ("ours", corpus.ours_predictions),
             ("baseline", corpus.baseline_predictions))}


def headline_metrics(read_text: Reader = workspace, corpora: bool = False) -> dict[str, dict[str, dict]]:
    """{protocol: {model: SCORES}} for every evaluated network and every cross-validated,
    classical and own model; with ``corpora`` also the other corpora's and the cross-corpus rows
    (metrics/corpora.json: stage corpora; the review shows them, metrics/headline.json has the main
    corpus's only). A hold-out network trained with several seeds also has the seeds'
    count, mean UAR and its standard deviation over seeds (the training run's spread) beside the
    named seed's figures."""
    headline: dict[str, dict[str, dict]] = {}
    for name in NETWORKS:
        metrics = _json(read_text, paths.METRICS / f"{name}.json")
        if metrics:
            scores = headline_scores(metrics)
            replicates = replicates_of(name, metrics, read_text)
            if replicates:
                scores.update(seeds=len(replicates["seeds"]), uar_seed_mean=replicates["uar_mean"],
                              uar_seed_std=replicates["uar_std"])
            headline.setdefault(holdout_protocol(metrics["leaky"]), {})[network_model(name)] = scores
    for summary_path in (*(s for _, s in SUMMARIES), *([paths.CORPORA_METRICS] if corpora else [])):
        for protocol, model, result in scored_models(_json(read_text, summary_path)):
            headline.setdefault(protocol, {})[model] = headline_scores(result["pooled"])
    return headline


def prediction_table(read_text: Reader = workspace, corpora: bool = False, corpus: paths.CorpusData | None = None
                     ) -> pd.DataFrame:
    """Every model's test predictions, one row per (protocol, model, recording): PREDICTION_COLUMNS;
    with ``corpora`` also the other corpora's and the cross-corpus ones (stage corpora)."""
    tables = []
    for name in NETWORKS:
        metrics = _json(read_text, paths.METRICS / f"{name}.json")
        samples = read_text(paths.PLOTS / name / "confusion.csv")
        if metrics and samples:
            table = read_csv(io.StringIO(samples), dtype=str)
            tables.append(pd.DataFrame({"protocol": holdout_protocol(metrics["leaky"]), "model": network_model(name),
                                        "kind": "network", "fold": HOLDOUT, "utterance": table["clip"],
                                        "emotion": table["actual"], "predicted": table["predicted"]}))
    where = predictions_of(corpus or networks_corpus(read_text))
    extra = [("classical", (paths.CORPORA_PREDICTIONS,))] if corpora else []
    for kind, places in (*where.items(), *extra):
        text = next((t for t in map(read_text, places) if t), None)
        if text:
            table = read_csv(io.StringIO(text), dtype=str)
            tables.append(table.assign(kind=kind)[PREDICTION_COLUMNS])
    return (pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=PREDICTION_COLUMNS))


def replicate_table(read_text: Reader = workspace) -> pd.DataFrame:
    """Every seed's test predictions of each hold-out network trained with replicates (the shipped
    model's are its study twin's), one row per (protocol, model, seed, item): REPLICATE_COLUMNS."""
    tables = []
    for name in NETWORKS:
        metrics = _json(read_text, paths.METRICS / f"{name}.json")
        if not metrics:
            continue
        source = name if "replicates" in metrics or name != "model" else twin(metrics)
        text = read_text(paths.PLOTS / source / REPLICATES_FILE)
        if text:
            table = read_csv(io.StringIO(text), dtype={"clip": str, "actual": str, "predicted": str})
            tables.append(pd.DataFrame({"protocol": holdout_protocol(metrics["leaky"]), "model": network_model(name),
                                        "seed": table["seed"].astype(int), "utterance": table["clip"],
                                        "emotion": table["actual"], "predicted": table["predicted"]}))
    return pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=REPLICATE_COLUMNS)
