"""The real pipeline, end to end: `dvc repro` on a tiny corpus served as a zip over HTTP (built once for
every end-to-end test, tests/e2e.py): what it made, and that nothing is left to do after it."""
from __future__ import annotations

import json
import re
import shutil
import sys

import mlflow
import numpy as np
import pytest

from e2e import SOURCES_STAGE, VARIANTS, expected_runs, ran, run
from emoser.reporting.readme import results_block
from stage_deps import rerun_table

pytestmark = pytest.mark.e2e

# Load the registered served model and answer one request for the wav in argv[2] (store: argv[1]).
LOAD_REGISTERED = """
import base64, json, sys
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/emoser-ours/latest")
audio = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
print(json.dumps(model.predict(pd.DataFrame([{"name": "request", "audio": audio}]))))
"""


def test_dvc_repro_end_to_end(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    out = e2e_build.repro
    for stage in ["augment", "features", "split", "train", "evaluate", "study-train@cnn_lstm-mse",
                  "study-evaluate@cnn-cce", "fit", "loco", "calibrate", "package", "cv", "report", "track", "corpora",
                  *(f"{s}@{c}" for c in ("emodb", "ravdess") for s in ("fetch", "folds", "baselines", "ours",
                                                                        "crosscorpus")),
                  *(f"extract@{c}-{e}" for c in ("emodb", "ravdess") for e in ("opensmile", "embeddings", "whisper"))]:
        assert f"Running stage '{stage}'" in out
    assert "Warning:" not in out, "a warning that means nothing to a user reached the log"
    assert "Downloading artifacts" not in out, "MLflow's progress bar reached the log"
    assert "13 fold trainings in 2 worker processes (1 thread each)" in out, out

    report = json.loads((repo / "data/corpora/emodb/raw/fetch_report.json").read_text())
    assert report["utterances"] == 49 and report["skipped"] == 1 and report["listener_test"]

    # Every variant has metrics; test = originals only (15 % of 49 utterances)
    metrics = {v: json.loads((repo / "metrics" / f"{v}.json").read_text()) for v in VARIANTS}
    for name, m in metrics.items():
        assert m["protocol"] == "utterance" and m["leaky"] is False
        assert 0 <= m["accuracy"] <= 1 and 0 <= m["uar"] <= 1
        assert m["test_size"] == 8, name
        assert m["uar_ci"]["low"] <= m["uar"] <= m["uar_ci"]["high"] and m["uar_ci"]["level"] == 0.95
        assert m["accuracy_ci"]["low"] <= m["accuracy"] <= m["accuracy_ci"]["high"]
        # listeners: the test corpus gives anger 80.5 % recognition (conftest.make_corpus)
        assert m["per_class"]["anger"]["listeners"] == pytest.approx(0.805)
        assert 0.8 < m["listeners"] < 0.87
        assert (repo / "plots" / name / "confusion.png").stat().st_size > 10_000
    assert (metrics["study/cnn_lstm-mse"]["arch"], metrics["study/cnn_lstm-mse"]["loss"]) == ("cnn_lstm", "mse")
    # The shipped model (cnn, cce) and the study's cnn-cce share every setting: determinism
    # means their scores are identical, to the last digit.
    same = ("accuracy", "uar", "macro_f1", "per_class", "epochs_run")
    assert {k: metrics["model"][k] for k in same} == {k: metrics["study/cnn-cce"][k] for k in same}

    # MLflow: one experiment per protocol and corpus, each opening on its training runs (issue 37, point 9):
    # the hold-out protocol's holds every network (one run each, with its confusion matrix), the SVMs and ours
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    experiment = mlflow.get_experiment_by_name("emoser/emodb/holdout")
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    everything = mlflow.search_runs([experiment.experiment_id])
    runs = everything[everything["tags.kind"] == "network"]
    assert sorted(runs["tags.mlflow.runName"]) == sorted(VARIANTS)
    assert {"ours (holdout)", "compare (holdout)", "egemaps (holdout)"} <= set(everything["tags.mlflow.runName"])
    names = {e.name for e in mlflow.search_experiments()}
    assert {"emoser/emodb/loso", "emoser/emodb/kfold", "emoser/emodb/leaky", "emoser/ravdess/loso",
            "emoser/cross-corpus", "emoser/loco", "emoser/served"} <= names, names
    assert not names & {"emoser/utterance", "emoser/holdout", "emoser/loso"}, names
    assert all(e.tags.get("mlflow.experimentKind") == "custom_model_development"
               for e in mlflow.search_experiments() if e.name.startswith("emoser/"))
    across = mlflow.search_runs([mlflow.get_experiment_by_name("emoser/cross-corpus").experiment_id])
    assert {"ours (emodb→ravdess)", "ours (ravdess→emodb)"} <= set(across["tags.mlflow.runName"]), across
    assert set(runs["metrics.test_uar"].round(6)) == {round(m["uar"], 6) for m in metrics.values()}
    run_id = runs.loc[runs["tags.mlflow.runName"] == "study/cnn-mse", "run_id"].item()
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "figures")}
    assert artifacts == {"figures/confusion.png", "figures/history.png"}
    logged = mlflow.get_run(run_id).data.params
    assert (logged["model.arch"], logged["model.loss"], logged["train.epochs"]) == ("cnn", "mse", "2")
    assert not any(k.startswith(("corpora.", "ours.", "cv.")) for k in logged)    # only what shaped the model
    signature = mlflow.models.get_model_info(f"runs:/{run_id}/model").signature
    assert signature.inputs.inputs[0].shape == (-1, 8 + 1, 20) and signature.outputs.inputs[0].shape == (-1, 7)
    history = mlflow.MlflowClient().get_metric_history(run_id, "val_loss")
    assert [h.step for h in history] == list(range(1, metrics["study/cnn-mse"]["epochs_run"] + 1))

    # Cross-validation: the CNN under LOSO (7 speakers), k-fold and the labelled leaky protocol;
    # every original recording tested exactly once per leak-free protocol.
    cv = json.loads((repo / "metrics/cv.json").read_text())
    assert list(cv) == ["loso", "kfold", "leaky"] and "warning" in cv["leaky"]
    assert list(cv["loso"]["cnn-cce"]["folds"]) == ["03", "08", "09", "10", "11", "12", "13"]
    assert cv["loso"]["cnn-cce"]["pooled"]["test_size"] == 49 and len(cv["kfold"]["cnn-cce"]["folds"]) == 3
    assert cv["leaky"]["cnn-cce"]["pooled"]["test_size"] == 49 * 3   # the leaky test also scores copies
    assert cv["loso"]["listeners"]["per_class"]["anger"] == pytest.approx(0.805)
    baselines = json.loads((repo / "metrics/baselines.json").read_text())
    assert list(baselines) == ["loso", "kfold", "holdout"] and baselines["holdout"]["split_protocol"] == "utterance"
    for protocol in baselines:
        assert {"egemaps", "egemaps+spkstd", "compare", "compare+spkstd"} <= set(baselines[protocol])
    assert baselines["holdout"]["compare"]["pooled"]["test_size"] == 8
    ours = json.loads((repo / "metrics/ours.json").read_text())
    assert list(ours) == ["loso", "kfold", "holdout"]
    assert ours["loso"]["ours+spkstd"]["pooled"]["test_size"] == 49
    assert ours["holdout"]["ours"]["pooled"]["test_size"] == 8
    ablation = json.loads((repo / "metrics/ablation.json").read_text())["loso"]
    views = ["ComParE ensemble", "voice encoder", "Whisper encoder"]
    combinations = [" + ".join(c) + f", {w}" for c in (views[:2], views[::2], views[1:], views)
                    for w in ("nested weights", "equal weights")]
    assert set(ablation["ours"]) == {"100 best features", "all features", *views, "fusion", *combinations}
    assert ablation["ours"]["fusion"]["uar"] == ours["loso"]["ours"]["pooled"]["uar"]
    embeddings = np.load(repo / "data/corpora/emodb/embeddings/voice_encoder.npz")
    assert embeddings["values"].shape == (49, 512) and np.isfinite(embeddings["values"]).all()
    whisper = np.load(repo / "data/corpora/emodb/whisper/whisper.npz")
    assert whisper["values"].shape == (49, 6 * 1024) and np.isfinite(whisper["values"]).all()
    # our served model: every corpus (roles.ours: all), the union of their emotions; and its adapted twin
    served = json.loads((repo / "models/ours/model.json").read_text())
    assert served["recordings"] == 49 + 18 and served["corpora"] == {"emodb": 49, "ravdess": 18}
    assert served["params"]["fusion"]["weights"] == "nested" and len(served["emotions"]) == 7
    assert json.loads((repo / "models/ours/adapted/model.json").read_text())["adaptation"] == "corpus"
    assert sum(served["weights"].values()) == pytest.approx(1) and set(served["weights"]) == {"compare", "voice",
                                                                                              "whisper"}
    wav = next((repo / "data/corpora/emodb/raw/wav").glob("*.wav"))
    out = run([sys.executable, "-m", "emoser.serving.predict", "--model", "models/ours", "--json", str(wav)],
              repo, env)
    predicted = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert abs(sum(predicted["probabilities"].values()) - 1) < 1e-3
    # By default the served model (stage package): the same fusion, calibrated, numpy only
    out = run([sys.executable, "-m", "emoser.serving.predict", "--json", str(wav)], repo, env)
    default = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert default["model"] == "ours" and default["emotion"] == predicted["emotion"]
    calibration = json.loads((repo / "metrics/calibration.json").read_text())
    assert calibration["protocol"] == "loso" and set(calibration) >= {"ours", "ours+spkstd"}
    assert calibration["ours"]["raw"]["accuracy"] == calibration["ours"]["calibrated"]["accuracy"]
    assert calibration["ours"]["raw"]["accuracy"] == pytest.approx(ours["loso"]["ours"]["pooled"]["accuracy"])
    # the served temperatures: stage fit's, each fitted on its model's inner leave-one-corpus-out probabilities
    served_facts = json.loads((repo / "models/served/model.json").read_text())
    for facts, fitted in ((served_facts, "models/ours/model.json"),
                          (served_facts["adapted"], "models/ours/adapted/model.json")):
        temperature = json.loads((repo / fitted).read_text())["temperature"]
        assert temperature["fitted_on"] == "inner leave-one-corpus-out" and temperature["recordings"] > 0
        assert facts["temperature"] == temperature["value"] > 0
    cv_runs = mlflow.search_runs([mlflow.get_experiment_by_name("emoser/emodb/loso").experiment_id])
    assert sorted(cv_runs["tags.mlflow.runName"]) == sorted(
        f"{m} (loso)" for m in ["cnn-cce", "egemaps", "egemaps+spkstd", "compare", "compare+spkstd", "ours",
                                 "ours+spkstd"])
    report = (repo / "reports/results.md").read_text()
    assert "| human listeners (erkennung.txt) |" in report and "What leaks inflate" in report
    assert "| **fusion of every view, nested weights (ours)** |" in report
    assert "| ComParE, 100 best features |" in report
    assert "| voice encoder statistics, one logistic regression |" in report
    assert "## Do our model's probabilities mean what they say? (calibration)" in report
    for figure in ["confusion-loso.png", "confusion-kfold.png", "confusion-leaky.png", "confusion-holdout.png",
                   "confusion-study.png", "curves.png", "reliability.png"]:
        assert f"figures/{figure}" in report and (repo / "reports/figures" / figure).stat().st_size > 20_000

    # The README's results table is the report stage's, generated from the metrics of this run
    headline = (repo / "reports/headline.md").read_text()
    assert "| model | LOSO UAR | LOSO UAR, speaker std. |" in headline and "human listeners" in headline
    assert results_block((repo / "README.md").read_text()) == headline.strip("\n")

    # The one declared metrics file: per protocol x model, UAR and accuracy with intervals and n
    shown = json.loads(run(["dvc", "metrics", "show", "--json"], repo, env))
    declared = shown[""]["data"]
    assert list(declared) == ["metrics/headline.json", "metrics/corpora.json"], list(declared)
    # The further corpus under LOSO (3 actors, 6 emotions after the map) and both directions across corpora,
    # over the 6 emotions the two share (boredom: Emo-DB only)
    corpora = declared["metrics/corpora.json"]["data"]
    assert set(corpora) == {"ravdess/loso", "emodb→ravdess", "ravdess→emodb", "loco/emodb→ravdess",
                            "loco/ravdess→emodb"}, set(corpora)
    for protocol, block in corpora.items():
        models = {"ours", "ours+corpstd"} if protocol.startswith("loco/") else {"egemaps", "compare", "ours",
                                                                                 "ours+spkstd", "compare+spkstd"}
        assert models <= set(block), protocol
    # leave one corpus out, with two corpora: trained on the other's every emotion, scored over those shared
    assert corpora["loco/emodb→ravdess"]["ours+corpstd"]["pooled"]["test_size"] == 18
    assert corpora["loco/ravdess→emodb"]["ours"]["pooled"]["test_size"] == 42
    assert corpora["ravdess/loso"]["ours"]["pooled"]["test_size"] == 18
    assert corpora["emodb→ravdess"]["ours"]["pooled"]["test_size"] == 18
    assert corpora["ravdess→emodb"]["ours"]["pooled"]["test_size"] == 42      # 49 less the 7 of boredom
    written = json.loads((repo / "metrics/corpora.json").read_text())      # dvc shows numbers only
    assert written["ravdess→emodb"]["emotions"] == ["neutral", "happiness", "sadness", "anger", "fear", "disgust"]
    page = (repo / "reports/corpora.md").read_text()
    assert "Emo-DB → RAVDESS" in page and "RAVDESS → Emo-DB" in page
    assert "18 recordings, 3 speakers, 6 emotions" in page
    readme = (repo / "README.md").read_text()
    block = readme.split("<!-- corpora")[1].split("<!-- /corpora -->")[0]
    assert "Emo-DB → RAVDESS" in block and "| RAVDESS | Emo-DB | 6 (" in block and "Leave one corpus out" in block
    headline_metrics = declared["metrics/headline.json"]["data"]
    assert set(headline_metrics) == {"holdout", "loso", "kfold", "leaky"}
    assert set(headline_metrics["holdout"]) == {"model", "cnn-cce", "cnn-mse", "cnn_lstm-cce", "cnn_lstm-mse",
                                                "egemaps", "egemaps+spkstd", "compare", "compare+spkstd", "ours",
                                                "ours+spkstd"}
    assert headline_metrics["holdout"]["model"] == {
        "uar": metrics["model"]["uar"], "uar_low": metrics["model"]["uar_ci"]["low"],
        "uar_high": metrics["model"]["uar_ci"]["high"], "accuracy": metrics["model"]["accuracy"],
        "accuracy_low": metrics["model"]["accuracy_ci"]["low"],
        "accuracy_high": metrics["model"]["accuracy_ci"]["high"], "n": 8, "seeds": 3,
        "uar_seed_mean": metrics["study/cnn-cce"]["replicates"]["uar_mean"],
        "uar_seed_std": metrics["study/cnn-cce"]["replicates"]["uar_std"]}
    assert headline_metrics["loso"]["ours"]["uar"] == ours["loso"]["ours"]["pooled"]["uar"]
    assert "## Paired tests: is B better than A on the same recordings?" in report
    assert "**The seed report's claim, \"cross-entropy is more effective than MSE\"**: cnn under holdout" in report

    # Every result in MLflow once
    logged = len(mlflow.search_runs(search_all_experiments=True))
    # networks; cv: 3 protocols; baselines, ours: 3 each; the served model, registered
    assert logged == expected_runs(repo), logged
    # ...loadable by its registered name, answering as the CLI does (in its own process: openSMILE
    # cannot start in this one, where other tests have imported TensorFlow)
    out = run([sys.executable, "-c", LOAD_REGISTERED, f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}", str(wav)],
              repo, env)
    answer = json.loads(next(line for line in out.splitlines() if line.startswith("[{")))
    assert answer[0]["emotion"] == default["emotion"]
    assert {e: round(answer[0][e], 4) for e in default["probabilities"]} == default["probabilities"]


def test_nothing_to_do_twice_and_no_stage_goes_stale(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    mlflow.set_tracking_uri(f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}")
    logged = len(mlflow.search_runs(search_all_experiments=True))
    assert logged == expected_runs(repo), logged
    # Nothing to do the second time, and no MLflow run twice
    again = run(["dvc", "repro"], repo, env)
    assert ran(again) == set(), again      # stage sources runs every time (always_changed) and changes nothing
    assert f"Running stage '{SOURCES_STAGE}'" in again and "Stage 'fetch@emodb' didn't change" in again
    # Without its marker (a clone that shares this DVC cache or pulled its run cache has none),
    # track runs against the store, not a marker checked out of the cache, and finds every run there.
    marker = repo / "mlruns/synced.json"
    synced = marker.read_bytes()
    marker.unlink()
    again = run(["dvc", "repro"], repo, env)
    assert "Running stage 'track'" in again and "is cached" not in again, again
    assert f"0 runs logged, {logged} already there" in again, again
    assert marker.read_bytes() == synced
    assert len(mlflow.search_runs(search_all_experiments=True)) == logged
    assert run(["git", "status", "--porcelain"], repo, env) == ""     # and nothing in git changed

    # Stages cannot go stale: a comment added to a module makes `dvc status` name exactly the stages
    # that import it (tools/stage_deps.py reads the same from the source).
    reruns = rerun_table()
    for module in ("src/emoser/evaluation/scoring.py", "src/emoser/audio/augmentation.py",
                   "src/emoser/models/classical/fusion.py", "src/emoser/core/runtime.py"):
        path = repo / module
        original = path.read_text()
        path.write_text(original + "\n# touched by the test\n")
        try:
            status = run(["dvc", "status"], repo, env)
        finally:
            path.write_text(original)
        stale = {line[:-1].split("@")[0] for line in status.splitlines()
                 if line.endswith(":") and not line[0].isspace()} - {SOURCES_STAGE}
        assert stale == set(reruns[module]) - {"sources"}, (module, status)
    assert run(["dvc", "status"], repo, env).strip() == f"{SOURCES_STAGE}:\n\talways changed"


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_results_page_in_a_browser(e2e_build):
    """reports/browse.html, as the pipeline built it from the tiny corpus, in headless Chromium
    driven by Playwright: a cell lists its recordings, their audio loads, another model changes the
    matrix, the comparison and the listeners' filter work, and the matrix is a table of buttons."""
    from playwright.sync_api import sync_playwright

    page_file = e2e_build.repo / "reports" / "browse.html"
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', page_file.read_text(),
                                re.S).group(1).replace("<\\/", "</"))
    assert {s["id"] for s in data["sets"]} >= {"loso|ours", "loso|cnn-cce", "kfold|compare", "holdout|model",
                                                "holdout|cnn_lstm-mse"}
    assert not any(s["protocol"] == "leaky" for s in data["sets"])
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.goto(page_file.as_uri())
            assert page.locator("#model").input_value() == "ours"
            assert page.locator("#matrix thead th[scope=col]").count() == 7       # a real table, headed
            cells = page.locator("#matrix tbody button")
            assert cells.count() == 49 and cells.first.get_attribute("type") == "button"
            counts = [int(c) for c in cells.evaluate_all("bs => bs.map(b => b.dataset.count)")]
            assert sum(counts) == 49                                              # LOSO: every recording once
            busiest = max(range(49), key=lambda i: counts[i])
            cells.nth(busiest).focus()
            page.keyboard.press("Enter")                                          # keyboard, not only the mouse
            rows = page.locator("#rows tbody tr")
            assert rows.count() == counts[busiest]
            assert cells.nth(busiest).get_attribute("aria-pressed") == "true"
            duration = page.locator("#rows audio").first.evaluate(
                "a => a.readyState >= 1 ? a.duration : new Promise(r => a.addEventListener('loadedmetadata', "
                "() => r(a.duration), {once: true}))")
            assert duration > 0
            assert "not stored" not in rows.first.inner_text()                   # ours under LOSO: probabilities
            before = page.locator("#matrix tbody").inner_text()
            page.select_option("#model", "compare")
            assert page.locator("#score").inner_text().startswith("ComParE") and \
                page.locator("#matrix tbody").inner_text() != before
            page.select_option("#compare", "ours")
            page.select_option("#filter", "disagree")
            shown = page.locator("#rows tbody tr").count()
            mine = {s["model"]: dict((r[0], r[1]) for r in s["rows"]) for s in data["sets"] if s["protocol"] == "loso"}
            assert shown == sum(mine["compare"][u] != mine["ours"][u] for u in mine["ours"])
            page.select_option("#filter", "sure-wrong")
            truth = {u: data["emotions"].index(r["emotion"]) for u, r in data["recordings"].items()}
            sure = [u for u, p in mine["compare"].items()
                    if data["recordings"][u]["recognition"] >= 90 and p != truth[u]]
            assert page.locator("#rows tbody tr").count() == len(sure)
            speakers = page.locator("#speakers tbody tr")
            assert speakers.count() == 7                                          # LOSO: one row per speaker
        finally:
            browser.close()
