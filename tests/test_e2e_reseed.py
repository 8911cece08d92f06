"""Training runs are replicates, and DVC's run cache serves every training stage (tests/e2e.py's build)."""
from __future__ import annotations

import json

import pytest

from e2e import ran, run

pytestmark = pytest.mark.e2e


def test_a_reseed_trains_again_and_going_back_restores_from_the_run_cache(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    # Training runs are replicates (3 seeds per hold-out network), and DVC's run cache serves every
    # training stage: a reseed trains the hold-out networks and cv's folds again; going back to the
    # seed already run restores them from the run cache instead of training again. (The experiments name
    # the stages they need, two of the four study networks among them: the run cache is the point here,
    # the whole pipeline under an experiment is tests/test_e2e_sweep.py's.)
    targets = ["study-evaluate@cnn-cce", "study-evaluate@cnn_lstm-mse", "cv", "train"]
    trained = {p: (repo / p).read_bytes() for p in ("metrics/cv.json", "metrics/study/cnn_lstm-mse.json")}
    reseed = run(["dvc", "exp", "run", "-S", "train.seed=43", *targets], repo, env)
    for stage in ("study-train@cnn-cce", "study-train@cnn_lstm-mse", "cv", "train"):
        assert f"Running stage '{stage}'" in reseed, reseed
    assert json.loads((repo / "metrics/study/cnn-cce.json").read_text())["replicates"]["seeds"] == [43, 44, 45]
    assert {p: (repo / p).read_bytes() for p in trained} != trained
    back = run(["dvc", "exp", "run", "-S", "train.seed=42", *targets], repo, env)
    assert not [stage for stage in ran(back) if stage.startswith(("study-train", "cv", "train"))], back
    for stage in ("study-train@cnn-cce", "study-train@cnn_lstm-mse", "cv", "train"):
        assert f"Stage '{stage}' is cached - skipping run, checking out outputs" in back, back
    assert {p: (repo / p).read_bytes() for p in trained} == trained
