"""Stage evaluate: score one trained network on its test set -> metrics/NAME.json, plots/NAME/
(confusion matrix, training curves, per-recording predictions). MLflow: stage track.

Where models/NAME has replicates (one network per seed of ``train.seeds``), every seed is scored
too: metrics/NAME.json's ``replicates`` (each seed's UAR and accuracy, their mean and spread) and
plots/NAME/replicates.csv (each seed's predictions, what reviews pair). The git-tracked files here
(metrics, plots) are written by this cheap stage, not by train: so train keeps DVC's run cache.

    python -m emoser.stages.evaluate --name model
"""
from __future__ import annotations

import argparse
import logging

import pandas as pd

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_manifest, write_csv, write_json
from emoser.core.runtime import entry_point
from emoser.features.dataset import load_subsets
from emoser.models.networks.evaluation import evaluate, evaluate_replicates
from emoser.models.networks.saved import HISTORY_FILE, REPLICATES_FILE, read_facts
from emoser.params.corpora import RolesParams
from emoser.params.evaluate import EvaluateParams
from emoser.reporting.figures import confusion_figure, history_figure, save_figure

log = logging.getLogger(__name__)


class Params(Section):
    evaluate: EvaluateParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--name", required=True, help="models/NAME to score; writes metrics/NAME.json, plots/NAME/")
    args = parser.parse_args(argv)
    params = load_params(Params)
    folder = paths.MODELS / args.name
    facts = read_facts(folder)
    corpus = paths.corpus_data(params.roles.networks)
    test = load_subsets(corpus, ("test",))["test"]
    manifest = read_manifest(corpus.manifest)
    recognition = manifest.set_index("utterance")["recognition"] if "recognition" in manifest else None
    metrics, samples, counts = evaluate(folder, test, params.evaluate, recognition)
    plot_dir = paths.PLOTS / args.name
    history = pd.read_csv(paths.MODELS / args.name / HISTORY_FILE)
    replicates = evaluate_replicates(folder, test, facts["params"]["train.seed"])
    if replicates is not None:
        metrics["replicates"], per_seed = replicates
        write_csv(plot_dir / REPLICATES_FILE, per_seed)
        log.info("%s: UAR over %d seeds %.3f ± %.3f (range %.3f–%.3f)", args.name, len(per_seed["seed"].unique()),
                 metrics["replicates"]["uar_mean"], metrics["replicates"]["uar_std"],
                 min(r["uar"] for r in metrics["replicates"]["per_seed"].values()),
                 max(r["uar"] for r in metrics["replicates"]["per_seed"].values()))
    tag = " [LEAKY: inflated]" if metrics["leaky"] else ""
    title = (f"{args.name}: {metrics['arch']}, {metrics['loss']} loss, {metrics['protocol']} split{tag}\n"
             f"accuracy {metrics['accuracy']:.3f}  UAR {metrics['uar']:.3f} "
             f"[{metrics['uar_ci']['low']:.3f}, {metrics['uar_ci']['high']:.3f}]  (n={metrics['test_size']})")
    figures = {"confusion": plot_dir / "confusion.png", "history": plot_dir / "history.png"}
    save_figure(confusion_figure(counts, facts["emotions"], title), figures["confusion"])
    save_figure(history_figure(history, title), figures["history"])
    write_csv(plot_dir / "confusion.csv", samples)
    write_csv(plot_dir / HISTORY_FILE, history)
    write_json(paths.METRICS / f"{args.name}.json", metrics)
    log.info("%s: accuracy %.3f, UAR %.3f on %d test clips (%s)", args.name, metrics["accuracy"],
             metrics["uar"], metrics["test_size"], metrics["protocol"])


if __name__ == "__main__":
    main()
