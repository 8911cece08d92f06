"""The pull-request review script on the shared build (tests/e2e.py), as the team's workflow runs it."""
from __future__ import annotations

import re
from pathlib import Path

import mlflow
import pytest
import yaml

from e2e import VARIANTS, assert_reviewed_change, expected_runs, ran, run

pytestmark = pytest.mark.e2e


def test_pull_request_review_script(e2e_build, tmp_path):
    """.ci/pr-review as .github/workflows/review.yml runs it: a fresh clone of a pull-request branch,
    the team's DVC remote (here a folder), `dvc repro` of what the branch changed, and the review
    against the base branch; and the MLflow store of that fresh clone."""
    root = tmp_path
    repo, env = e2e_build.copy(root / "repo")
    base = run(["git", "symbolic-ref", "--short", "HEAD"], repo, env).strip()
    remote = root / "remote"
    run(["dvc", "remote", "add", "--local", "--default", "--force", "team", str(remote)], repo, env)
    run(["dvc", "push", "--all-branches", "--run-cache"], repo, env)

    def pull_request(name: str, change) -> tuple[Path, str]:
        clone = root / name
        run(["git", "clone", "-q", str(repo), str(clone)], root, env)
        run(["git", "checkout", "-qb", name], clone, env)
        change(clone)
        run(["git", "commit", "-qam", name], clone, env)
        pr_env = {**env, "PYTHONPATH": str(clone / "src"), "EMOSER_SKIP_SETUP": "1", "DVC_REMOTE_URL": str(remote)}
        return clone, run(["bash", ".ci/pr-review", f"origin/{base}"], clone, pr_env)

    def to_mse_and_a_comment(clone: Path) -> None:
        params = yaml.safe_load((clone / "params.yaml").read_text())
        params["model"]["loss"] = "mse"
        (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        with (clone / "src/emoser/reporting/report.py").open("a") as f:
            f.write("\n# A comment changes no result.\n")

    # One pull request (a fresh clone each costs minutes): a param change and a comment in a module.
    # (No change at all: tests/test_review.py.)
    clone, out = pull_request("mse", to_mse_and_a_comment)
    assert_reviewed_change(clone / "review/review.md")
    text = (clone / "review/review.md").read_text()
    # the comment in reporting/ reruns what reads that folder (the evaluations, corpora: seconds), not the fits
    study = {f"study-evaluate@{v.removeprefix('study/')}" for v in VARIANTS[1:]} | {"corpora"}
    changed = text.split("## Stages whose dvc.lock entry changed\n\n")[1].split("\n")[0]
    assert set(re.findall(r"`([^`]+)`", changed)) == {"train", "evaluate", "report", "track", *study}, text
    assert "| data/study/emodb/cv/trained.csv | DVC cache | workspace |" in text    # pulled from the remote
    # A fresh clone: DVC skips the stages whose outputs are those in dvc.lock (the study's evaluations
    # among them), yet the MLflow store has every network's run with its figures and model, and a
    # second repro adds none.
    assert ran(out) == {"train", "evaluate", "report", "track", *study}, out
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
    assert total == expected_runs(clone)
    assert ran(run(["dvc", "repro"], clone, {**env, "PYTHONPATH": str(clone / "src")})) == set()
    assert len(mlflow.search_runs(search_all_experiments=True)) == total

