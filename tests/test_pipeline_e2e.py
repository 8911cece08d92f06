"""The real pipeline, end to end: `dvc repro` on a tiny corpus served as a zip over HTTP."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest
import yaml

from conftest import REPO, make_corpus, make_ravdess_corpus, zip_folder
from emoser.evaluation.scoring import scored_models
from emoser.reporting.readme import results_block
from stage_deps import rerun_table

pytestmark = pytest.mark.e2e
VARIANTS = ["model", "study/cnn-cce", "study/cnn-mse", "study/cnn_lstm-cce", "study/cnn_lstm-mse"]


# Load the registered served model and answer one request for the wav in argv[2] (store: argv[1]).
LOAD_REGISTERED = """
import base64, json, sys
import mlflow, pandas as pd
mlflow.set_tracking_uri(sys.argv[1])
model = mlflow.pyfunc.load_model("models:/emoser-ours/latest")
audio = base64.b64encode(open(sys.argv[2], "rb").read()).decode()
print(json.dumps(model.predict(pd.DataFrame([{"name": "request", "audio": audio}]))))
"""


def _expected_runs(repo: Path) -> int:
    """MLflow runs after the main command: 5 networks; cv: 3 protocols; baselines, ours: 3 protocols each
    (4 and 2 models); the served model; and every result of metrics/corpora.json (the other corpus's
    LOSO, both directions, leave one corpus out)."""
    across = len(list(scored_models(json.loads((repo / "metrics/corpora.json").read_text()))))
    assert across >= 10, across
    return 5 + 3 + 4 * 3 + 2 * 3 + 1 + across


def _ran(out: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, less stage sources (always_changed: it runs every time
    and, when no source changed, writes what was there)."""
    return {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")} - {"sources"}


def _run(args, cwd: Path, env: dict) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(args)} failed:\n{output[-6000:]}"
    return output


def _assert_reviewed_change(path: Path) -> None:
    """The review of model.loss cce -> mse: the hold-out row with the change, judged over both
    sides' seeds (the shipped model's replicates are its study twin's), McNemar's p, the Holm-adjusted
    p and a verdict; both confusion matrices side by side."""
    text = path.read_text()
    assert "of 48 protocol × model rows changed" in text, text   # 26 of Emo-DB + 22 of corpora.json (4: loco)
    row = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    assert re.search(r"\| \d\.\d{3} → \d\.\d{3} \(seeds' mean\) \| "
                     r"[+-]\d\.\d{3} \[[+-]\d\.\d{3}, [+-]\d\.\d{3}\] \| seeds \+ recordings \(3 / 3 runs\) \| "
                     r"\d\.\d{3} → \d\.\d{3} \(n=8\) \| [\d.e-]+ \(\d+ / \d+\) \| "
                     r"[\d.e-]+ \([\d.e-]+\) \| .*(better|worse|within noise)", row), row
    assert re.search(r"\| model\.loss\s+\| cce\s+\| mse\s+\|", text), text
    assert (path.parent / "confusion-holdout-model.png").stat().st_size > 20_000


def _tiny_params(url: str, ravdess: Path) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["corpora"]["emodb"]["source"] = url
    params["corpora"]["ravdess"]["source"] = str(ravdess)    # the second corpus: 3 actors x 6 emotions kept
    del params["corpora"]["nemo"]        # two corpora prove every per-corpus stage and leave-one-corpus-out
    params["audio"]["sample_rate"] = 8000
    params["augment"].update(pitch_copies=1, stretch_copies=1, jobs=2)
    params["features"].update(n_mfcc=8, n_fft=256, hop_length=128, frames=20, jobs=2)
    params["train"].update(epochs=2, batch_size=16, patience=1)
    params["architectures"]["cnn"].update(filters=[4, 8], dense=8)
    params["architectures"]["cnn_lstm"].update(chunks=4, filters=[4], lstm_units=4, dense=8)
    params["cv"].update(protocols=["loso", "kfold", "leaky"], k=3, variants=["cnn-cce"])
    params["compute"].update(threads_per_task=1, tasks=2)    # the 13 fold trainings in 2 worker processes
    params["baselines"]["jobs"] = 2
    params["ours"].update(feature_counts=[100, "all"], jobs=2)
    params["ours"]["calibration"]["inner_folds"] = 3
    return params


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    serve_dir = root / "site"
    serve_dir.mkdir()
    zip_folder(make_corpus(root / "corpus", extra_files={"notes.wav": b"not audio"}), serve_dir / "download.zip")
    make_ravdess_corpus(root / "ravdess")
    repo = root / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", ".dvcignore", ".gitignore", "README.md"):
        shutil.copy(REPO / name, repo / name)
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "benchmarks", repo / "benchmarks")
    shutil.copytree(REPO / "presets", repo / "presets")
    shutil.copytree(REPO / ".ci", repo / ".ci", ignore=shutil.ignore_patterns("tools"))
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return root, repo, serve_dir, env


def test_dvc_repro_end_to_end(workspace, http_serve):
    root, repo, serve_dir, env = workspace
    url = http_serve(serve_dir) + "/download.zip"
    (repo / "params.yaml").write_text(yaml.safe_dump(_tiny_params(url, root / "ravdess"), sort_keys=False))
    _run(["git", "init", "-q"], repo, env)
    _run(["git", "config", "user.name", "emoser tests"], repo, env)
    _run(["git", "config", "user.email", "tests@emoser.invalid"], repo, env)
    _run(["dvc", "init", "-q"], repo, env)
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "tiny"], repo, env)

    out = _run(["dvc", "repro"], repo, env)
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
    out = _run([sys.executable, "-m", "emoser.serving.predict", "--model", "models/ours", "--json", str(wav)],
               repo, env)
    predicted = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    assert abs(sum(predicted["probabilities"].values()) - 1) < 1e-3
    # By default the served model (stage package): the same fusion, calibrated, numpy only
    out = _run([sys.executable, "-m", "emoser.serving.predict", "--json", str(wav)], repo, env)
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
    shown = json.loads(_run(["dvc", "metrics", "show", "--json"], repo, env))
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

    # The benchmark runs on what the pipeline made (a smoke check of the script; its figures are not judged)
    # (--repro, a second whole rebuild in a fresh clone, is tested on a two-stage project: tests/test_bench.py)
    bench = _run([sys.executable, "benchmarks/bench.py", "--utterances", "4", "--quick"], repo, env)
    # 4 utterances × (original + 1 pitch + 1 stretch copy) in the tiny params
    assert "ours: 12 clips" in bench and "originals' features differ by at most" in bench
    assert "cnn_lstm:" in bench and "predict one 2-s clip" in bench
    assert "predict one 2-s clip with ours" in bench and "files/s after start-up" in bench
    assert "one 2-s clip in process: served_predict_ms" in bench and "speech_no_speech_ms" in bench
    assert re.search(r"mlflow models serve: up in [\d.]+ s; one 2-s clip per POST: \d+ ms median", bench), bench
    assert not (repo / "metrics/bench.json").exists()     # only with --write

    # Nothing to do the second time, and no MLflow run twice
    logged = len(mlflow.search_runs(search_all_experiments=True))
    # networks; cv: 3 protocols; baselines, ours: 3 each; the served model, registered
    assert logged == _expected_runs(repo), logged
    # ...loadable by its registered name, answering as the CLI does (in its own process: openSMILE
    # cannot start in this one, where other tests have imported TensorFlow)
    out = _run([sys.executable, "-c", LOAD_REGISTERED, f"sqlite:///{repo / 'mlruns' / 'mlflow.db'}", str(wav)],
               repo, env)
    answer = json.loads(next(line for line in out.splitlines() if line.startswith("[{")))
    assert answer[0]["emotion"] == default["emotion"]
    assert {e: round(answer[0][e], 4) for e in default["probabilities"]} == default["probabilities"]
    again = _run(["dvc", "repro"], repo, env)
    assert _ran(again) == set(), again      # stage sources runs every time (always_changed) and changes nothing
    assert "Running stage 'sources'" in again and "Stage 'fetch@emodb' didn't change" in again
    # Without its marker (a clone that shares this DVC cache or pulled its run cache has none),
    # track runs against the store, not a marker checked out of the cache, and finds every run there.
    marker = repo / "mlruns/synced.json"
    synced = marker.read_bytes()
    marker.unlink()
    again = _run(["dvc", "repro"], repo, env)
    assert "Running stage 'track'" in again and "is cached" not in again, again
    assert f"0 runs logged, {logged} already there" in again, again
    assert marker.read_bytes() == synced
    assert len(mlflow.search_runs(search_all_experiments=True)) == logged
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "baseline"], repo, env)

    # Stages cannot go stale: a comment added to a module makes `dvc status` name exactly the stages
    # that import it (tools/stage_deps.py reads the same from the source).
    reruns = rerun_table()
    for module in ("src/emoser/evaluation/scoring.py", "src/emoser/audio/augmentation.py",
                   "src/emoser/models/classical/fusion.py", "src/emoser/core/runtime.py"):
        path = repo / module
        original = path.read_text()
        path.write_text(original + "\n# touched by the test\n")
        try:
            status = _run(["dvc", "status"], repo, env)
        finally:
            path.write_text(original)
        stale = {line[:-1].split("@")[0] for line in status.splitlines()
                 if line.endswith(":") and not line[0].isspace()} - {"sources"}
        assert stale == set(reruns[module]) - {"sources"}, (module, status)
    assert _run(["dvc", "status"], repo, env).strip() == "sources:\n\talways changed"

    # A sweep of the shipped model's loss reruns only its training and evaluation
    exp = _run(["dvc", "exp", "run", "-S", "model.loss=mse"], repo, env)
    assert sorted(_ran(exp)) == ["evaluate", "report", "track", "train"]
    assert json.loads((repo / "metrics/model.json").read_text())["loss"] == "mse"
    # A reviewer's diff: only headline rows, only changed ones, one screen
    diff = _run(["dvc", "metrics", "diff", "--md"], repo, env)
    rows = [line for line in diff.splitlines() if line.startswith("| metrics/")]
    assert rows and all(line.startswith("| metrics/headline.json | holdout.model.") for line in rows), diff
    assert len(rows) <= 60
    review = _run([sys.executable, "-m", "emoser.reporting.review", "HEAD", "--out", "review"], repo, env)
    assert "| holdout | model |" in review
    _assert_reviewed_change(repo / "review/review.md")

    # Training runs are replicates (3 seeds per hold-out network), and DVC's run cache serves every
    # training stage: a reseed trains the hold-out networks and cv's folds again; going back to the
    # seed already run restores them from the run cache instead of training again.
    trained = {p: (repo / p).read_bytes() for p in ("metrics/cv.json", "metrics/study/cnn_lstm-mse.json")}
    reseed = _run(["dvc", "exp", "run", "-S", "train.seed=43"], repo, env)
    assert "Running stage 'study-train@cnn-cce'" in reseed and "Running stage 'cv'" in reseed, reseed
    assert json.loads((repo / "metrics/study/cnn-cce.json").read_text())["replicates"]["seeds"] == [43, 44, 45]
    back = _run(["dvc", "exp", "run", "-S", "train.seed=42"], repo, env)
    ran = sorted(_ran(back))
    assert not [stage for stage in ran if stage.startswith(("study-train", "cv", "train"))], back
    for stage in ("study-train@cnn-cce", "study-train@cnn_lstm-mse", "cv", "train"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in back, back
    assert {p: (repo / p).read_bytes() for p in trained} == trained

    # A queued sweep run by two workers, each experiment in its own copy of the repository
    for loss in ("cce", "mse"):
        _run(["dvc", "exp", "run", "--queue", "-S", "model.arch=cnn_lstm", "-S", f"model.loss={loss}"], repo, env)
    _run(["dvc", "queue", "start", "-j", "2"], repo, env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = _run(["dvc", "queue", "status"], repo, env)
        if not any(word in status for word in ("Queued", "Running")):
            break
        time.sleep(2)
    assert status.count("Success") == 2, status
    table = _run(["dvc", "exp", "show", "--csv", "--only-changed"], repo, env)
    rows = list(csv.DictReader(io.StringIO(table)))
    queued = {(row["model.arch"], row["model.loss"]) for row in rows if row["Executor"] == "Dvc-task"}
    assert queued == {("cnn_lstm", "cce"), ("cnn_lstm", "mse")}, table


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_results_page_in_a_browser(workspace):
    """reports/browse.html, as the pipeline built it from the tiny corpus, in headless Chromium
    driven by Playwright: a cell lists its recordings, their audio loads, another model changes the
    matrix, the comparison and the listeners' filter work, and the matrix is a table of buttons."""
    from playwright.sync_api import sync_playwright

    _, repo, _, _ = workspace
    page_file = repo / "reports" / "browse.html"
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


def test_pull_request_review_script(workspace):
    """.ci/pr-review as .github/workflows/review.yml runs it: a fresh clone of a pull-request branch,
    the team's DVC remote (here a folder), `dvc repro` of what the branch changed, and the review
    against the base branch; and the MLflow store of that fresh clone."""
    root, repo, _, env = workspace
    base = _run(["git", "symbolic-ref", "--short", "HEAD"], repo, env).strip()
    remote = root / "remote"
    _run(["dvc", "remote", "add", "--local", "--default", "--force", "team", str(remote)], repo, env)
    _run(["dvc", "push", "--all-branches", "--run-cache"], repo, env)

    def pull_request(name: str, change) -> tuple[Path, str]:
        clone = root / name
        _run(["git", "clone", "-q", str(repo), str(clone)], root, env)
        _run(["git", "checkout", "-qb", name], clone, env)
        change(clone)
        _run(["git", "commit", "-qam", name], clone, env)
        pr_env = {**env, "PYTHONPATH": str(clone / "src"), "EMOSER_SKIP_SETUP": "1", "DVC_REMOTE_URL": str(remote)}
        return clone, _run(["bash", ".ci/pr-review", f"origin/{base}"], clone, pr_env)

    def to_mse_and_a_comment(clone: Path) -> None:
        params = yaml.safe_load((clone / "params.yaml").read_text())
        params["model"]["loss"] = "mse"
        (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        with (clone / "src/emoser/reporting/report.py").open("a") as f:
            f.write("\n# A comment changes no result.\n")

    # One pull request (a fresh clone each costs minutes): a param change and a comment in a module.
    # (No change at all: tests/test_review.py.)
    clone, out = pull_request("mse", to_mse_and_a_comment)
    _assert_reviewed_change(clone / "review/review.md")
    text = (clone / "review/review.md").read_text()
    # the comment in reporting/ reruns what reads that folder (the evaluations, corpora: seconds), not the fits
    study = {f"study-evaluate@{v.removeprefix('study/')}" for v in VARIANTS[1:]} | {"corpora"}
    changed = text.split("## Stages whose dvc.lock entry changed\n\n")[1].split("\n")[0]
    assert set(re.findall(r"`([^`]+)`", changed)) == {"train", "evaluate", "report", "track", *study}, text
    assert "| data/study/emodb/cv/trained.csv | DVC cache | workspace |" in text    # pulled from the remote
    # A fresh clone: DVC skips the stages whose outputs are those in dvc.lock (the study's evaluations
    # among them), yet the MLflow store has every network's run with its figures and model, and a
    # second repro adds none.
    assert _ran(out) == {"train", "evaluate", "report", "track", *study}, out
    mlflow.set_tracking_uri(f"sqlite:///{clone / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs([mlflow.get_experiment_by_name("emoser/emodb/holdout").experiment_id])
    runs = runs[runs["tags.kind"] == "network"]
    assert sorted(runs["tags.mlflow.runName"]) == sorted(VARIANTS)
    for run_id in runs["run_id"]:
        assert {a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "figures")} == {
            "figures/confusion.png", "figures/history.png"}
        assert mlflow.MlflowClient().get_metric_history(run_id, "val_loss")
        assert mlflow.models.get_model_info(f"runs:/{run_id}/model").signature is not None
    total = len(mlflow.search_runs(search_all_experiments=True))
    assert total == _expected_runs(clone)
    assert _ran(_run(["dvc", "repro"], clone, {**env, "PYTHONPATH": str(clone / "src")})) == set()
    assert len(mlflow.search_runs(search_all_experiments=True)) == total

