"""Stage 6, evaluate: score one trained model on its test set, write metrics and plots,
and record the whole run (params, per-epoch curves, test metrics, figures, model) in MLflow.

    python -m emoser.evaluate --name model
"""
from __future__ import annotations

import argparse
import logging
import os

import mlflow
from mlflow.models import ModelSignature
from mlflow.types.schema import Schema, TensorSpec
import numpy as np
import pandas as pd

from . import paths
from .cli import stage
from .corpus import EMOTIONS
from .dataset import load_subsets
from .figures import confusion_figure, history_figure, save_figure
from .files import write_csv, write_json
from .metrics import confusion, listener_reference, scored_with_intervals
from .models import Bundle
from .params import EvaluateParams, load_params
from .tracking import git_commit, resolve_tracking_uri, use_experiment

log = logging.getLogger(__name__)

LEAKY_WARNING = ("LEAKY protocol: augmented copies of test recordings were in the training set; "
                 "these scores are inflated and not comparable to any leak-free result")


def evaluate(bundle: Bundle, test, settings: EvaluateParams, recognition: pd.Series | None = None
             ) -> tuple[dict, pd.DataFrame, np.ndarray]:
    """Metrics (with bootstrap intervals and the listeners' reference), per-sample predictions
    and confusion counts of ``bundle`` on ``test``."""
    proba = bundle.predict_proba(test.features, test.n_frames)
    predicted = proba.argmax(axis=1)
    actual = test.labels
    scores = scored_with_intervals(actual, predicted, settings.bootstrap_resamples, settings.seed,
                                   settings.ci_level)
    listeners = (listener_reference(test.clips["utterance"], test.clips["emotion"], recognition)
                 if recognition is not None else None)
    if listeners is not None:
        scores["listeners"] = listeners["overall"]
        for emotion, share in listeners["per_class"].items():
            scores["per_class"][emotion]["listeners"] = share
    protocol = bundle.facts["protocol"]
    metrics = {"protocol": protocol, "leaky": protocol == "leaky"}
    if protocol == "leaky":
        metrics["warning"] = LEAKY_WARNING
    metrics.update({"arch": bundle.facts["arch"], "loss": bundle.facts["loss"], **scores,
                    "epochs_run": bundle.facts["epochs_run"], "best_epoch": bundle.facts["best_epoch"]})
    samples = pd.DataFrame({"clip": test.clips["clip"], "actual": [EMOTIONS[i] for i in actual],
                            "predicted": [EMOTIONS[i] for i in predicted]})
    return metrics, samples, confusion(actual, predicted)


def network_signature(bundle: Bundle) -> ModelSignature:
    """What the logged network takes and gives: normalised features (clips, features, frames) -> emotion probabilities."""
    shape = (-1, *bundle.network.input_shape[1:])
    return ModelSignature(inputs=Schema([TensorSpec(np.dtype("float32"), shape)]),
                          outputs=Schema([TensorSpec(np.dtype("float32"), (-1, len(EMOTIONS)))]))


def log_to_mlflow(name: str, bundle: Bundle, metrics: dict, history: pd.DataFrame, figures: dict,
                  tracking_uri: str, experiment: str) -> str:
    protocol = metrics["protocol"]
    experiment_id = use_experiment(tracking_uri, f"{experiment}/{protocol}")
    with mlflow.start_run(experiment_id=experiment_id, run_name=name) as run:
        mlflow.set_tags({"variant": name, "arch": metrics["arch"], "loss": metrics["loss"], "protocol": protocol,
                         "leaky": str(metrics["leaky"]).lower(), "git_commit": git_commit(),
                         "dvc_experiment": os.environ.get("DVC_EXP_NAME", ""),
                         **({"warning": LEAKY_WARNING} if metrics["leaky"] else {})})
        # what shaped the model (emoser.train.MODEL_PARAM_SECTIONS), and this variant's own arch and loss
        mlflow.log_params({k: str(v) for k, v in bundle.facts["params"].items()})
        mlflow.log_params({"model.arch": metrics["arch"], "model.loss": metrics["loss"]})
        for row in history.itertuples(index=False):
            mlflow.log_metrics({k: float(getattr(row, k)) for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
                               step=int(row.epoch))
        mlflow.log_metrics({f"test_{k}": float(metrics[k]) for k in ("accuracy", "uar", "macro_f1")})
        mlflow.log_metrics({f"test_{k}_ci_{end}": metrics[f"{k}_ci"][end] for k in ("accuracy", "uar")
                            for end in ("low", "high")})
        mlflow.log_metrics({f"test_recall_{c}": v["recall"] for c, v in metrics["per_class"].items()})
        mlflow.log_metrics({"epochs_run": metrics["epochs_run"], "best_epoch": metrics["best_epoch"]})
        for path in figures.values():
            mlflow.log_artifact(str(path), artifact_path="figures")
        mlflow.log_dict(metrics, "metrics.json")
        # Requirements are pinned in requirements.txt; MLflow's inference of them is slow and offline-hostile.
        mlflow.keras.log_model(bundle.network, name="model", pip_requirements=[], signature=network_signature(bundle))
        mlflow.log_artifact(str(paths.MODELS / name / Bundle.STATS_FILE), artifact_path="model")
        return run.info.run_id


@stage
def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="models/NAME to score; writes metrics/NAME.json, plots/NAME/")
    args = parser.parse_args(argv)
    params = load_params()
    bundle = Bundle.load(paths.MODELS / args.name)
    test = load_subsets(("test",))["test"]
    manifest = pd.read_csv(paths.MANIFEST, dtype={"speaker": str})
    recognition = manifest.set_index("utterance")["recognition"]
    metrics, samples, counts = evaluate(bundle, test, params.evaluate, recognition)
    plot_dir = paths.PLOTS / args.name
    history = pd.read_csv(plot_dir / "history.csv")
    tag = " [LEAKY: inflated]" if metrics["leaky"] else ""
    title = (f"{args.name}: {metrics['arch']}, {metrics['loss']} loss, {metrics['protocol']} split{tag}\n"
             f"accuracy {metrics['accuracy']:.3f}  UAR {metrics['uar']:.3f} "
             f"[{metrics['uar_ci']['low']:.3f}, {metrics['uar_ci']['high']:.3f}]  (n={metrics['test_size']})")
    figures = {"confusion": plot_dir / "confusion.png", "history": plot_dir / "history.png"}
    save_figure(confusion_figure(counts, EMOTIONS, title), figures["confusion"])
    save_figure(history_figure(history, title), figures["history"])
    write_csv(plot_dir / "confusion.csv", samples)
    run_id = log_to_mlflow(args.name, bundle, metrics, history, figures,
                           resolve_tracking_uri(params.mlflow.tracking_uri), params.mlflow.experiment)
    metrics_path = paths.METRICS / f"{args.name}.json"
    write_json(metrics_path, metrics)
    log.info("%s: accuracy %.3f, UAR %.3f on %d test clips (%s); MLflow run %s", args.name, metrics["accuracy"],
             metrics["uar"], metrics["test_size"], metrics["protocol"], run_id)


if __name__ == "__main__":
    main()
