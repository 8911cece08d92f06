"""A sweep of one param on the shared build (tests/e2e.py): what reruns, `dvc metrics diff` and the review."""
from __future__ import annotations

import json
import sys

import pytest

from e2e import assert_reviewed_change, ran, run

pytestmark = pytest.mark.e2e


def test_a_sweep_of_the_loss_reruns_its_training_and_is_reviewed(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    # A sweep of the shipped model's loss reruns only its training and evaluation
    exp = run(["dvc", "exp", "run", "-S", "model.loss=mse"], repo, env)
    assert sorted(ran(exp)) == ["evaluate", "report", "track", "train"]
    assert json.loads((repo / "metrics/model.json").read_text())["loss"] == "mse"
    # A reviewer's diff: only headline rows, only changed ones, one screen
    diff = run(["dvc", "metrics", "diff", "--md"], repo, env)
    rows = [line for line in diff.splitlines() if line.startswith("| metrics/")]
    assert rows and all(line.startswith("| metrics/headline.json | holdout.model.") for line in rows), diff
    assert len(rows) <= 60
    review = run([sys.executable, "-m", "emoser.reporting.review", "HEAD", "--out", "review"], repo, env)
    assert "| holdout | model |" in review
    assert_reviewed_change(repo / "review/review.md")
