"""A queued sweep run by two workers on the shared build (tests/e2e.py)."""
from __future__ import annotations

import csv
import io
import time

import pytest

from e2e import run

pytestmark = pytest.mark.e2e


def test_a_queued_sweep_runs_on_two_workers(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    # A queued sweep run by two workers, each experiment in its own copy of the repository
    for loss in ("cce", "mse"):
        run(["dvc", "exp", "run", "--queue", "-S", "model.arch=cnn_lstm", "-S", f"model.loss={loss}"], repo, env)
    run(["dvc", "queue", "start", "-j", "2"], repo, env)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status = run(["dvc", "queue", "status"], repo, env)
        if not any(word in status for word in ("Queued", "Running")):
            break
        time.sleep(2)
    assert status.count("Success") == 2, status
    table = run(["dvc", "exp", "show", "--csv", "--only-changed"], repo, env)
    rows = list(csv.DictReader(io.StringIO(table)))
    queued = {(row["model.arch"], row["model.loss"]) for row in rows if row["Executor"] == "Dvc-task"}
    assert queued == {("cnn_lstm", "cce"), ("cnn_lstm", "mse")}, table

