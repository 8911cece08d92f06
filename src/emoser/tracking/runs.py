"""The MLflow store, kept in step with the pipeline's outputs (stage ``track``).

Stages do not log to MLflow themselves: a stage DVC skips (its outputs are already those in
dvc.lock, as in a fresh clone) would then leave no run. ``sync`` logs, for every evaluated
network and every cross-validated/classical model, the run the store lacks, and nothing twice:
each run carries the tag ``emoser_key``, a hash of the outputs it shows, set last (a run cut off
midway does not count).

- a network (``model``, ``study/<arch>-<loss>``): params, per-epoch curves, test metrics with
  intervals, the confusion-matrix and history figures, the Keras model with its normaliser;
- a summary model (cv, ours, baselines) per protocol: params, pooled scores with intervals,
  each fold's scores as steps;
- every other corpus's results and the results across corpora (metrics/corpora.json: each corpus's
  LOSO, each direction between two corpora, leave one corpus out), as summary runs;
- the served model (``models/served``): its calibration, and the model itself as an MLflow pyfunc
  model registered as ``emoser-ours`` (``mlflow models serve -m models:/emoser-ours/latest``).

One experiment per protocol and corpus (``experiment_name``): ``emoser/emodb/holdout`` holds the
hold-out networks *and* the SVMs and ours under the same split, ``emoser/emodb/loso`` every model's
LOSO on Emo-DB, ``emoser/ravdess/loso`` RAVDESS's, ``emoser/cross-corpus`` each direction between two
corpora, ``emoser/loco`` leave one corpus out, ``emoser/served`` the served model. Each is tagged as
model development (``mlflow.experimentKind``); MLflow 3.17's UI reads that only where its GenAI /
Model training switch is not shown, so stage track also logs a link that opens the training runs
(``ui_path``). A run's key includes its experiment, so a store from before this layout gets
every run again, in order (the old experiments stay until you delete them).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.entities import Metric, Param, RunTag
from mlflow.models import ModelSignature
from mlflow.types.schema import Schema, TensorSpec
from mlflow.utils.time import get_current_time_millis

from emoser.core import paths
from emoser.core.config import flatten
from emoser.core.files import atomic_path
from emoser.evaluation.scoring import scored_models
from emoser.protocols.names import LEAKY_WARNING
from emoser.reporting.results import NETWORKS, SUMMARIES, holdout_protocol
from emoser.tracking.store import git_commit, use_experiment

log = logging.getLogger(__name__)
KEY_TAG = "emoser_key"
SYNCED = Path("mlruns/synced.json")   # stage track's marker, inside the local store (not in git)
# params.yaml sections that shaped each kind of summary (the networks carry theirs in the model).
SUMMARY_PARAMS = {"trained": ("cv", "train", "architectures", "features", "evaluate"),
                  "ours": ("ours", "cv", "split", "evaluate"),
                  "baseline": ("baselines", "cv", "split", "evaluate"),
                  "classical": ("corpora", "roles", "baselines", "ours", "loco", "evaluate")}   # metrics/corpora.json


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        h.update(len(data).to_bytes(8, "little") + data)
    return h.hexdigest()[:32]


def network_key(name: str, root: Path = Path()) -> str | None:
    """Hash of what a network's run shows (metrics, curves, every file of the model); None if
    the network has not been evaluated."""
    metrics, history = root / paths.METRICS / f"{name}.json", root / paths.PLOTS / name / "history.csv"
    model = root / paths.MODELS / name
    if not (metrics.exists() and history.exists() and model.is_dir()):
        return None
    files = sorted(p for p in model.rglob("*") if p.is_file())
    return _digest("network", name, metrics.read_bytes(), history.read_bytes(),
                   *[x for p in files for x in (str(p.relative_to(model)), p.read_bytes())])


def summary_key(kind: str, protocol: str, model: str, result: dict) -> str:
    return _digest(kind, protocol, model, json.dumps(result, sort_keys=True))


def network_signature(network) -> ModelSignature:
    """What the logged network takes and gives: normalised features (clips, features, frames) ->
    emotion probabilities."""
    shape = (-1, *network.input_shape[1:])
    return ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), shape)]),
                          outputs=Schema([TensorSpec(np.dtype("float32"), (-1, network.output_shape[-1]))]))


class RunRecord:
    """A run's tags, params and metrics, collected, then sent to the store in one ``log_batch`` (``send``).

    MLflow's ``log_metrics``/``log_params``/``set_tags`` each make one transaction on the SQLite store
    (~8 ms): a summary run made ~10 of them, a network run one per epoch; stage track spent about a
    quarter of its time there (profiled on the tests' tiny build: 505 transactions for 49 runs). One
    batch per run holds the same values (MLflow splits it at its limits of 100 params or tags and 1,000
    metrics per call)."""

    def __init__(self) -> None:
        self.tags: dict[str, str] = {}
        self.params: dict[str, str] = {}
        self.metrics: dict[tuple[str, int], float] = {}

    def log_metrics(self, values: dict, step: int = 0) -> None:
        self.metrics.update({(key, step): float(value) for key, value in values.items()})

    def send(self, run_id: str) -> None:
        now = get_current_time_millis()
        mlflow.MlflowClient().log_batch(
            run_id, metrics=[Metric(key, value, now, step) for (key, step), value in self.metrics.items()],
            params=[Param(key, str(value)) for key, value in self.params.items()],
            tags=[RunTag(key, str(value)) for key, value in self.tags.items()])


CROSS_CORPUS, LOCO, SERVED = "cross-corpus", "loco", "served"


def ui_path(tracking_uri: str, name: str) -> str | None:
    """The MLflow UI's page of experiment ``name``'s training runs (append it to the UI's address).

    MLflow 3.17's UI opens every experiment as GenAI (traces, token usage) until this browser picks
    "Model training" in its top-left switch (kept in the browser's storage): ``mlflow.experimentKind``
    is read only where that switch is not shown. The ``workflowType`` parameter picks it for one page."""
    experiment = mlflow.MlflowClient(tracking_uri).get_experiment_by_name(name)
    if experiment is None:
        return None
    return f"/#/experiments/{experiment.experiment_id}/runs?workflowType=machine_learning"


def experiment_name(prefix: str, corpus: str, protocol: str) -> str:
    """The experiment of a result: ``prefix/CORPUS/PROTOCOL`` for one corpus's protocol (a protocol of
    metrics/corpora.json names its corpus: ``ravdess/loso``), ``prefix/cross-corpus`` for a direction
    between corpora (``emodb→ravdess``), ``prefix/loco`` for leave one corpus out."""
    if protocol.startswith(f"{LOCO}/"):
        return f"{prefix}/{LOCO}"
    if "→" in protocol:
        return f"{prefix}/{CROSS_CORPUS}"
    return f"{prefix}/{protocol}" if "/" in protocol else f"{prefix}/{corpus}/{protocol}"


def log_network_run(name: str, key: str, tracking_uri: str, experiment: str) -> str:
    """One run for the evaluated network ``name`` (models/NAME, metrics/NAME.json, plots/NAME/) in
    ``experiment`` (the hold-out protocol's, with the SVMs and ours)."""
    from emoser.models.networks.architectures import Bundle  # TensorFlow: only when a network run is missing

    metrics = json.loads((paths.METRICS / f"{name}.json").read_text())
    history = pd.read_csv(paths.PLOTS / name / "history.csv")
    bundle = Bundle.load(paths.MODELS / name)
    protocol = metrics["protocol"]
    experiment_id = use_experiment(tracking_uri, experiment)
    record = RunRecord()
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        record.tags.update({"variant": name, "kind": "network", "arch": metrics["arch"], "loss": metrics["loss"],
                            "protocol": holdout_protocol(metrics["leaky"]), "split": protocol,
                            "leaky": str(metrics["leaky"]).lower(), "git_commit": git_commit(),
                            "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                            **({"warning": LEAKY_WARNING} if metrics["leaky"] else {})})
        # what shaped the model (recorded in it by the train stage), and this variant's own arch and loss
        record.params.update({k: str(v) for k, v in bundle.facts["params"].items()})
        record.params.update({"model.arch": metrics["arch"], "model.loss": metrics["loss"]})
        for row in history.itertuples(index=False):
            record.log_metrics({k: float(getattr(row, k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
                               step=int(row.epoch))
        record.log_metrics({f"test_{k}": float(metrics[k]) for k in ("accuracy", "uar", "macro_f1")})
        record.log_metrics({f"test_{k}_ci_{end}": metrics[f"{k}_ci"][end] for k in ("accuracy", "uar")
                            for end in ("low", "high")})
        record.log_metrics({f"test_recall_{c}": v["recall"] for c, v in metrics["per_class"].items()})
        record.log_metrics({"epochs_run": metrics["epochs_run"], "best_epoch": metrics["best_epoch"]})
        if replicates := metrics.get("replicates"):   # every seed's test UAR as a step, and their spread
            for i, scores in enumerate(replicates["per_seed"].values()):
                record.log_metrics({"seed_test_uar": scores["uar"], "seed_test_accuracy": scores["accuracy"]},
                                   step=i + 1)
            record.log_metrics({"seeds_test_uar_mean": replicates["uar_mean"],
                                "seeds_test_uar_std": replicates["uar_std"]})
            record.tags["seeds"] = ",".join(map(str, replicates["seeds"]))
        record.send(run.info.run_id)
        for figure in ("confusion.png", "history.png"):
            mlflow.log_artifact(str(paths.PLOTS / name / figure), artifact_path="figures")
        mlflow.log_artifact(str(paths.PLOTS / name / "confusion.csv"), artifact_path="predictions")
        mlflow.log_dict(metrics, "metrics.json")
        # Requirements are pinned in requirements.txt; MLflow's inference of them is slow and offline-hostile.
        mlflow.keras.log_model(bundle.network, name="model", pip_requirements=[],
                               signature=network_signature(bundle.network))
        mlflow.log_artifact(str(paths.MODELS / name / Bundle.STATS_FILE), artifact_path="model")
        mlflow.set_tag(KEY_TAG, key)
        return run.info.run_id


def log_summary_run(kind: str, protocol: str, model: str, result: dict, key: str, params: dict[str, str],
                    tracking_uri: str, experiment: str) -> str:
    """One run for a cross-validated / classical model under one protocol: pooled scores with
    intervals, and each fold's scores as steps 1..k (fold names in a tag), in ``experiment``."""
    experiment_id = use_experiment(tracking_uri, experiment)
    record = RunRecord()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{model} ({protocol})") as run:
        record.tags.update({"kind": kind, "variant": model, "protocol": protocol, "git_commit": git_commit(),
                            "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""), "folds": ",".join(result["folds"])})
        record.params.update(params)
        pooled = result["pooled"]
        record.log_metrics({f"pooled_{k}": pooled[k] for k in ("accuracy", "uar", "macro_f1")})
        record.log_metrics({f"pooled_{k}_ci_{end}": pooled[f"{k}_ci"][end]
                            for k in ("accuracy", "uar") for end in ("low", "high")})
        record.log_metrics({f"fold_mean_{k}": v for k, v in result["fold_mean"].items()})
        record.log_metrics({f"fold_std_{k}": v for k, v in result["fold_std"].items()})
        for step, scores in enumerate(result["folds"].values(), start=1):
            record.log_metrics({f"fold_{k}": scores[k] for k in ("accuracy", "uar", "macro_f1")}, step=step)
        record.send(run.info.run_id)
        mlflow.log_dict(result, "summary.json")
        mlflow.set_tag(KEY_TAG, key)
        return run.info.run_id


def served_key(root: Path = Path()) -> str | None:
    """Hash of every file of the served model and of its calibration; None before stage package."""
    from emoser.models.classical.calibration import METRICS
    from emoser.serving.served import FOLDER

    folder, calibration = root / FOLDER, root / METRICS
    if not (folder.is_dir() and calibration.exists()):
        return None
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    return _digest("served", calibration.read_bytes(),
                   *[x for p in files for x in (str(p.relative_to(folder)), p.read_bytes())])


@contextlib.contextmanager
def _without_type_hint_advice() -> Iterator[None]:
    """Drop MLflow's advice to add type hints to ``predict`` and an input example (for its input
    validation): requests are checked by emoser.serving.mlflow_model itself, row by row, and its signature
    names only the params a request may set, so the advice is noise in the stage's log. (A warnings
    filter is not enough: log_model resets them to "once".)"""
    with warnings.catch_warnings():
        show = warnings.showwarning

        def shown(message, category, filename, lineno, file=None, line=None):
            if not any(advice in str(message) for advice in ("Add type hints to the `predict` method",
                                                               "An input example was not provided")):
                show(message, category, filename, lineno, file, line)

        warnings.showwarning = shown
        yield


@contextlib.contextmanager
def _no_progress_bars() -> Iterator[None]:
    """No tqdm bar from MLflow's artifact downloads (log_model validates the model it logged): in a
    stage's log it is a screen of carriage returns. The user's own setting wins."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    before = os.environ.get(name)
    os.environ.setdefault(name, "false")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(name, None)


def log_served_run(key: str, tracking_uri: str, experiment: str) -> str:
    """The served model's run: its facts and calibration, and the pyfunc model (registered)."""
    from importlib.metadata import version

    from emoser.models.classical.calibration import CALIBRATED, METRICS, RAW
    from emoser.models.classical.fusion import MODEL
    from emoser.serving.served import FACTS, FOLDER

    with _without_type_hint_advice():     # MLflow checks the class as it is defined
        from emoser.serving import mlflow_model

    facts = json.loads((FOLDER / FACTS).read_text())
    calibration = json.loads(METRICS.read_text())
    experiment_id = use_experiment(tracking_uri, experiment)
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"{MODEL} (served)") as run:
        record = RunRecord()
        record.tags.update({"kind": "served", "variant": MODEL, "git_commit": git_commit(),
                            "dvc_experiment": os.environ.get("DVC_EXP_NAME", "")})
        record.params.update({"feature_set": facts["feature_set"], "temperature": facts["temperature"],
                              "recordings": facts["recordings"], "window_s": facts["window_s"],
                              **{f"ours.{k}": str(v) for k, v in facts["params"].items()}})
        block = calibration.get(MODEL, {})
        record.log_metrics({f"{kind}_{k}": block[kind][k] for kind in (RAW, CALIBRATED) if kind in block
                            for k in ("ece", "nll", "brier")})
        record.send(run.info.run_id)
        mlflow.log_dict(calibration, "calibration.json")
        packages = ("numpy", "pandas", "soundfile", "soxr", "opensmile", "webrtcvad", "mlflow")
        with _without_type_hint_advice(), _no_progress_bars():
            mlflow.pyfunc.log_model(name="model", **mlflow_model.model_options(FOLDER),
                                    pip_requirements=[f"{p}=={version(p)}" for p in packages],
                                    registered_model_name=mlflow_model.REGISTERED_NAME)
        mlflow.set_tag(KEY_TAG, key)
        return run.info.run_id


def logged_keys(tracking_uri: str, experiment: str) -> set[str]:
    """``emoser_key`` of every finished run in the project's experiments (``experiment/<protocol>``)."""
    client = mlflow.MlflowClient(tracking_uri)
    ids = [e.experiment_id for e in client.search_experiments(filter_string=f"name LIKE '{experiment}/%'")]
    keys: set[str] = set()
    token = None
    while ids:
        page = client.search_runs(ids, filter_string="attributes.status = 'FINISHED'", max_results=1000,
                                  page_token=token)
        keys.update(r.data.tags[KEY_TAG] for r in page if KEY_TAG in r.data.tags)
        token = page.token
        if not token:
            break
    return keys


def wanted_runs(raw_params: dict, prefix: str) -> list[dict]:
    """Every run the outputs in the workspace call for: {key, kind, name, experiment, ...}, in pipeline
    order. A run's key is a hash of what it shows and of its experiment."""
    corpus = (raw_params.get("roles") or {}).get("networks", "emodb")
    runs: list[dict] = []
    for name in NETWORKS:
        key = network_key(name)
        if key:
            leaky = json.loads((paths.METRICS / f"{name}.json").read_text())["leaky"]
            experiment = experiment_name(prefix, corpus, holdout_protocol(leaky))
            runs.append({"key": _digest(key, experiment), "kind": "network", "name": name, "experiment": experiment})
    summaries = [*SUMMARIES, ("classical", paths.CORPORA_METRICS)]
    for kind, summary_path in summaries:
        if not summary_path.exists():
            continue
        summary = json.loads(summary_path.read_text())
        chosen = {section: raw_params[section] for section in SUMMARY_PARAMS[kind] if section in raw_params}
        params = {key: str(value) for key, value in flatten(chosen).items()}
        for protocol, model, result in scored_models(summary):
            experiment = experiment_name(prefix, corpus, protocol)
            runs.append({"key": _digest(summary_key(kind, protocol, model, result), experiment), "kind": kind,
                         "name": f"{model} ({protocol})", "protocol": protocol, "model": model,
                         "result": result, "params": params, "experiment": experiment})
    key = served_key()
    if key:
        experiment = f"{prefix}/{SERVED}"
        runs.append({"key": _digest(key, experiment), "kind": "served", "name": "ours (served)",
                     "experiment": experiment})
    return runs


def sync(raw_params: dict, tracking_uri: str, experiment: str, marker: Path) -> tuple[int, int]:
    """Log each wanted run the store lacks; write ``marker`` (the runs the store now holds for
    these outputs: deterministic, so DVC's lock does not change). Returns (logged, already there)."""
    runs = wanted_runs(raw_params, experiment)
    mlflow.set_tracking_uri(tracking_uri)
    present = logged_keys(tracking_uri, experiment)
    logged = 0
    for run in runs:
        if run["key"] in present:
            continue
        if run["kind"] == "network":
            run_id = log_network_run(run["name"], run["key"], tracking_uri, run["experiment"])
        elif run["kind"] == "served":
            run_id = log_served_run(run["key"], tracking_uri, run["experiment"])
        else:
            run_id = log_summary_run(run["kind"], run["protocol"], run["model"], run["result"], run["key"],
                                     run["params"], tracking_uri, run["experiment"])
        log.info("logged %s (%s): MLflow run %s", run["name"], run["kind"], run_id)
        present.add(run["key"])
        logged += 1
    with atomic_path(marker) as tmp:
        tmp.write_text(json.dumps({"experiment": experiment,
                                   "runs": [{"kind": r["kind"], "name": r["name"], KEY_TAG: r["key"]} for r in runs]},
                                  indent=1) + "\n")
    return logged, len(runs) - logged
