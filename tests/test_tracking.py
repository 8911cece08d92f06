"""MLflow in order (issue 37, point 9): one experiment per protocol and corpus, every corpus's and every
cross-corpus result tracked, each experiment tagged as model development. A real SQLite store, the
repository's committed metrics (the networks' runs: tests/test_pipeline_e2e.py)."""
from __future__ import annotations

import json
import shutil

import mlflow
import pytest
import yaml

from conftest import REPO
from emoser.evaluation.scoring import scored_models
from emoser.tracking.runs import experiment_name, sync

SUMMARY_FILES = ("cv.json", "ours.json", "baselines.json", "corpora.json")


def test_experiment_names_follow_protocol_and_corpus():
    assert experiment_name("emoser", "emodb", "holdout") == "emoser/emodb/holdout"
    assert experiment_name("emoser", "emodb", "loso") == "emoser/emodb/loso"
    assert experiment_name("emoser", "emodb", "ravdess/loso") == "emoser/ravdess/loso"
    assert experiment_name("emoser", "emodb", "emodb→nemo") == "emoser/cross-corpus"
    assert experiment_name("emoser", "emodb", "loco/ravdess+nemo→emodb") == "emoser/loco"


@pytest.mark.skipif(not (REPO / "metrics/corpora.json").exists(), reason="the committed metrics")
def test_every_result_of_every_corpus_in_its_experiment_once(tmp_path, monkeypatch):
    (tmp_path / "metrics").mkdir()
    for name in SUMMARY_FILES:
        shutil.copy(REPO / "metrics" / name, tmp_path / "metrics" / name)
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    (tmp_path / "mlruns").mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    # a store from before this layout: one protocol in two experiments, no kind
    mlflow.set_tracking_uri(uri)
    mlflow.create_experiment("emoser/utterance")
    expected = {}
    for name in SUMMARY_FILES:
        for protocol, model, _ in scored_models(json.loads((REPO / "metrics" / name).read_text())):
            expected.setdefault(experiment_name("emoser", "emodb", protocol), set()).add(f"{model} ({protocol})")

    logged, there = sync(params, uri, "emoser", tmp_path / "mlruns/synced.json")
    assert there == 0 and logged == sum(map(len, expected.values())) >= 60
    client = mlflow.MlflowClient(uri)
    for name, runs in expected.items():
        experiment = client.get_experiment_by_name(name)
        assert experiment.tags["mlflow.experimentKind"] == "custom_model_development", name
        found = client.search_runs([experiment.experiment_id], max_results=1000)
        assert sorted(r.data.tags["mlflow.runName"] for r in found) == sorted(runs), name
    assert {"emoser/emodb/holdout", "emoser/emodb/loso", "emoser/ravdess/loso", "emoser/nemo/loso",
            "emoser/cross-corpus", "emoser/loco"} <= set(expected)
    holdout = client.search_runs([client.get_experiment_by_name("emoser/emodb/holdout").experiment_id])
    assert {"ours (holdout)", "compare (holdout)"} <= {r.data.tags["mlflow.runName"] for r in holdout}
    across = client.search_runs([client.get_experiment_by_name("emoser/cross-corpus").experiment_id],
                                filter_string="tags.mlflow.runName = 'ours (emodb→nemo)'")
    result = json.loads((REPO / "metrics/corpora.json").read_text())["emodb→nemo"]["ours"]
    run = across[0]
    assert run.data.metrics["pooled_uar"] == pytest.approx(result["pooled"]["uar"])
    # the run's one batch (RunRecord) holds what separate log calls did: tags, params, each fold as a step
    assert run.data.metrics["fold_std_uar"] == pytest.approx(result["fold_std"]["uar"])
    assert (run.data.tags["kind"], run.data.tags["folds"]) == ("classical", ",".join(result["folds"]))
    assert run.data.params["ours.C"] == str(params["ours"]["C"]) and run.data.params["loco.jobs"] == "-1"
    history = client.get_metric_history(run.info.run_id, "fold_uar")
    assert [(h.step, h.value) for h in history] == [
        (step, pytest.approx(fold["uar"])) for step, fold in enumerate(result["folds"].values(), start=1)]
    # the old experiment is left as it was (delete it when you like); a second sync logs nothing
    assert client.get_experiment_by_name("emoser/utterance").tags.get("mlflow.experimentKind") is None
    assert sync(params, uri, "emoser", tmp_path / "mlruns/synced.json") == (0, logged)


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None or not (REPO / "metrics/corpora.json").exists(),
                    reason="needs Debian's chromium (.ci/run installs it) and the committed metrics")
def test_the_mlflow_ui_opens_an_experiment_on_its_training_runs(tmp_path, monkeypatch):
    """`mlflow ui` on the synced store, in headless Chromium: the link stage track logs (``ui_path``)
    opens emoser/emodb/loso on its runs (every model's LOSO), not on MLflow 3's GenAI overview."""
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    from playwright.sync_api import sync_playwright

    from emoser.tracking.runs import ui_path

    (tmp_path / "metrics").mkdir()
    for name in SUMMARY_FILES:
        shutil.copy(REPO / "metrics" / name, tmp_path / "metrics" / name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mlruns").mkdir()
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    sync(yaml.safe_load((REPO / "params.yaml").read_text()), uri, "emoser", tmp_path / "mlruns/synced.json")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(base, timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            try:
                page = browser.new_page(viewport={"width": 1500, "height": 900})
                page.goto(base + ui_path(uri, "emoser/emodb/loso"))
                page.get_by_text("ours+spkstd (loso)").first.wait_for(timeout=60_000)
                text = page.inner_text("body")
                assert "Runs" in text and "7 matching runs" in text, text[:800]
                assert "Token Usage" not in text
                for model in ("cnn-cce", "egemaps", "compare", "ours"):
                    assert f"{model} (loso)" in text
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
