"""Where MLflow runs go: a local SQLite store unless told otherwise (the runs: ``emoser.tracking.runs``).

The store defaults to ``mlflow.tracking_uri`` in params.yaml; ``MLFLOW_TRACKING_URI``
overrides it (a team's tracking server, say).
"""
from __future__ import annotations

import functools
import logging
import os
import subprocess
from pathlib import Path

import mlflow  # telemetry is off: emoser.core.runtime set MLFLOW_DISABLE_TELEMETRY

log = logging.getLogger(__name__)
_SQLITE = "sqlite:///"


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


@functools.cache
def git_commit() -> str:
    """The workspace's commit, ``-dirty`` when a tracked file differs (once per process: a stage's runs share it)."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip() + ("-dirty" if dirty else "")


# MLflow 3's UI opens an experiment by this tag: without it, one with no traces may open as a GenAI one
KIND_TAG, KIND = "mlflow.experimentKind", "custom_model_development"


def use_experiment(tracking_uri: str, name: str) -> str:
    """Point MLflow at the store and experiment, creating it with artifacts beside a local store;
    every experiment of ours is tagged as model development (``KIND_TAG``)."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.tags.get(KIND_TAG) != KIND:
            mlflow.MlflowClient(tracking_uri).set_experiment_tag(experiment.experiment_id, KIND_TAG, KIND)
        return experiment.experiment_id
    artifacts = None
    if tracking_uri.startswith(_SQLITE):
        artifacts = (Path(tracking_uri[len(_SQLITE):]).parent / "artifacts").as_uri()
    return mlflow.create_experiment(name, artifact_location=artifacts, tags={KIND_TAG: KIND})
