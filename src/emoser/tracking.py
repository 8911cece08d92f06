"""MLflow: one run per evaluated model, in a local SQLite store unless told otherwise.

The store defaults to ``mlflow.tracking_uri`` in params.yaml; ``MLFLOW_TRACKING_URI``
overrides it (a team's tracking server, say).
"""
from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import mlflow  # telemetry is off: emoser.runtime set MLFLOW_DISABLE_TELEMETRY
from pydantic import Field

from .config import Section
from .scoring import scored_models

log = logging.getLogger(__name__)
_SQLITE = "sqlite:///"


class MlflowParams(Section):
    tracking_uri: str
    experiment: str = Field(min_length=1)


def workspace_root(cwd: Path | None = None) -> Path:
    """The repository the user works in, also when DVC runs a queued experiment in a copy of it."""
    cwd = (cwd or Path.cwd()).resolve()
    parts = cwd.parts
    for i in range(len(parts) - 2):
        if parts[i:i + 3] == (".dvc", "tmp", "exps"):
            return Path(*parts[:i])
    return cwd


def resolve_tracking_uri(configured: str, cwd: Path | None = None) -> str:
    """The tracking URI to use; a relative SQLite path is made absolute in the workspace."""
    uri = os.environ.get("MLFLOW_TRACKING_URI") or configured
    if uri.startswith(_SQLITE) and not uri.startswith(_SQLITE + "/"):
        db = workspace_root(cwd) / uri[len(_SQLITE):]
        db.parent.mkdir(parents=True, exist_ok=True)
        uri = _SQLITE + str(db)
    return uri


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty else "")


def use_experiment(tracking_uri: str, name: str) -> str:
    """Point MLflow at the store and experiment, creating it with artifacts beside a local store."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    artifacts = None
    if tracking_uri.startswith(_SQLITE):
        artifacts = (Path(tracking_uri[len(_SQLITE):]).parent / "artifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts)


def log_summary_runs(summary: dict, tracking_uri: str, experiment: str, params: dict[str, object],
                     tags: dict[str, str]) -> int:
    """One MLflow run per (protocol, model) of a ``scoring.summarise_predictions`` summary:
    pooled scores with intervals, and each fold's scores as steps 1..k (fold names in a tag)."""
    runs = 0
    for protocol, model, result in scored_models(summary):
        experiment_id = use_experiment(tracking_uri, f"{experiment}/{protocol}")
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{model} ({protocol})"):
            mlflow.set_tags({**tags, "variant": model, "protocol": protocol, "git_commit": git_commit(),
                             "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                             "folds": ",".join(result["folds"])})
            mlflow.log_params({k: str(v) for k, v in params.items()})
            pooled = result["pooled"]
            mlflow.log_metrics({f"pooled_{k}": pooled[k] for k in ("accuracy", "uar", "macro_f1")})
            mlflow.log_metrics({f"pooled_{k}_ci_{end}": pooled[f"{k}_ci"][end]
                                for k in ("accuracy", "uar") for end in ("low", "high")})
            mlflow.log_metrics({f"fold_mean_{k}": v for k, v in result["fold_mean"].items()})
            mlflow.log_metrics({f"fold_std_{k}": v for k, v in result["fold_std"].items()})
            for step, scores in enumerate(result["folds"].values(), start=1):
                mlflow.log_metrics({f"fold_{k}": scores[k] for k in ("accuracy", "uar", "macro_f1")},
                                   step=step)
            mlflow.log_dict(result, "summary.json")
        runs += 1
    return runs
