"""`emoser review` on a small real git + DVC repository holding metrics and predictions files as the
pipeline writes them (the full pipeline's review: tests/test_e2e_sweep.py)."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import REPO
from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import scored_with_intervals, summarise_predictions

EVALUATE = {"bootstrap_resamples": 300, "ci_level": 0.95, "seed": 0}
ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t",
       "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}


def _run(args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=ENV, capture_output=True, text=True, timeout=300)
    assert not check or done.returncode == 0, done.stdout + done.stderr
    return done


def _write_results(repo: Path, predicted: np.ndarray, actual: np.ndarray, cv_predicted: np.ndarray,
                   names: list[str], runs: list[np.ndarray] | None = None) -> None:
    """metrics/model.json + plots/model/confusion.csv (a hold-out network, ``predicted`` its named
    seed's predictions) with its study twin's replicates (``runs``: every seed's, the named first) in
    plots/study/cnn-cce/replicates.csv, and metrics/cv.json (a LOSO summary whose per-recording
    predictions are not available)."""
    scores = scored_with_intervals(actual, predicted, 300, 0, 0.95, EMOTIONS)
    metrics = {"protocol": "utterance", "leaky": False, "arch": "cnn", "loss": "cce", **scores}
    (repo / "metrics").mkdir(exist_ok=True)
    (repo / "metrics/model.json").write_text(json.dumps(metrics))
    (repo / "plots/model").mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"clip": names, "actual": [EMOTIONS[i] for i in actual],
                  "predicted": [EMOTIONS[i] for i in predicted]}).to_csv(repo / "plots/model/confusion.csv",
                                                                         index=False)
    table = pd.DataFrame({"protocol": "loso", "model": "cnn-cce", "fold": [n[:2] for n in names],
                          "utterance": names, "emotion": [EMOTIONS[i] for i in actual],
                          "predicted": [EMOTIONS[i] for i in cv_predicted]})
    (repo / "metrics/cv.json").write_text(json.dumps(summarise_predictions(table, EMOTIONS, 300, 0, 0.95)))
    replicates = repo / "plots/study/cnn-cce/replicates.csv"
    if runs is None:
        replicates.unlink(missing_ok=True)
        return
    replicates.parent.mkdir(parents=True, exist_ok=True)
    pd.concat([pd.DataFrame({"seed": 42 + i, "clip": names, "actual": [EMOTIONS[k] for k in actual],
                             "predicted": [EMOTIONS[k] for k in run]}) for i, run in enumerate(runs)]
              ).to_csv(replicates, index=False)


def _reseeded(rng, predicted: np.ndarray, actual: np.ndarray, seeds: int = 3) -> list[np.ndarray]:
    """``predicted`` (the named seed's run) and ``seeds - 1`` other runs of the same procedure: each
    gets 15 of the recordings right or wrong differently."""
    runs = [predicted]
    for _ in range(seeds - 1):
        run = predicted.copy()
        moved = rng.choice(len(run), 15, replace=False)
        run[moved] = np.where(rng.random(15) < 0.5, actual[moved], (actual[moved] + 2) % 7)
        runs.append(run)
    return runs


@pytest.fixture
def repo(tmp_path):
    rng = np.random.default_rng(0)
    n = 120
    actual = rng.integers(0, 7, n)
    predicted = np.where(rng.random(n) < 0.5, actual, (actual + 1) % 7)
    names = [f"{10 + i % 10:02d}a{i:03d}" for i in range(n)]
    root = tmp_path / "project"
    root.mkdir()
    _run(["git", "init", "-q", "-b", "main"], root)
    _run([sys.executable, "-m", "dvc", "init", "-q"], root)
    (root / "dvc.yaml").write_text("stages: {}\n")
    (root / "params.yaml").write_text(yaml.safe_dump({"evaluate": EVALUATE, "model": {"loss": "cce"}}))
    _write_results(root, predicted, actual, predicted, names, _reseeded(rng, predicted, actual))
    _run(["git", "add", "-A"], root)
    _run(["git", "commit", "-qm", "base"], root)
    return root, actual, predicted, names


def test_a_real_improvement_is_better_with_its_paired_interval(repo):
    root, actual, predicted, names = repo
    improved = predicted.copy()
    wrong = np.flatnonzero(predicted != actual)[:30]
    improved[wrong] = actual[wrong]
    _write_results(root, improved, actual, improved, names, _reseeded(np.random.default_rng(5), improved, actual))
    (root / "params.yaml").write_text(yaml.safe_dump({"evaluate": EVALUATE, "model": {"loss": "mse"}}))
    done = _run([sys.executable, "-m", "emoser.reporting.review", "main"], root)
    text = (root / "review/review.md").read_text()
    assert done.stdout.strip() == text.strip()
    assert text.startswith("# Review: main (")
    assert "**2 of 2 protocol × model rows changed: 2 better, 0 worse, 0 within noise, 0 not comparable.**" in text
    row = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    # 30 recordings fixed, none broken: McNemar p = 2 / 2**30 (the named seed's); judged over 3 + 3 seeds
    assert "(0 / 30)" in row and "1.86e-09" in row and "**better**" in row, row
    assert "(seeds' mean)" in row and "| seeds + recordings (3 / 3 runs) |" in row, row
    # the LOSO predictions (data/cv/trained.csv) are on neither side: intervals only, and it says so
    row = next(line for line in text.splitlines() if line.startswith("| loso | cnn-cce |"))
    assert "predictions unreachable" in row and "(intervals only)" in row, row
    assert re.search(r"\| params.yaml \| model\.loss\s+\| cce\s+\| mse\s+\|", text), text
    assert "| plots/model/confusion.csv | git | workspace |" in text
    assert "| data/cv/trained.csv | missing | missing |" in text
    assert (root / "review/confusion-holdout-model.png").stat().st_size > 20_000


def test_nothing_changed_and_a_changed_test_set(repo):
    root, actual, predicted, names = repo
    done = _run([sys.executable, "-m", "emoser.reporting.review", "main", "--out", "out"], root)
    assert "**No metric changed** (2 protocol × model rows compared" in done.stdout
    assert "No parameter changed." in done.stdout and "## Stages whose dvc.lock entry changed\n\nNone." in done.stdout
    moved = [*names[:-1], "99z999"]      # another recording in the test set: a changed split
    _write_results(root, predicted, actual, predicted, moved)
    text = _run([sys.executable, "-m", "emoser.reporting.review", "main"], root).stdout
    row = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    assert "different test recordings (1 only in base, 1 only in head)" in row and "**not comparable**" in row


def test_bad_revision_is_one_line_and_exit_2(repo):
    root = repo[0]
    done = _run([sys.executable, "-m", "emoser.reporting.review", "no-such-branch"], root, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == "emoser review: error: unknown git revision 'no-such-branch'"
    assert not (root / "review").exists()


def test_a_reseed_is_within_noise_and_one_training_run_is_not_judged(repo):
    root, actual, predicted, names = repo
    rng = np.random.default_rng(11)
    runs = _reseeded(rng, predicted, actual)
    other = _reseeded(rng, runs[1], actual)      # another seed set: the named seed's predictions move too
    _write_results(root, other[0], actual, predicted, names, other)
    text = _run([sys.executable, "-m", "emoser.reporting.review", "main"], root).stdout
    row = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    assert "| within noise |" in row and "seeds + recordings (3 / 3 runs)" in row, row
    assert "1 of 2 protocol × model rows changed: 0 better, 0 worse, 1 within noise" in text
    # one training run on the head side (train.replicates: 1): no verdict on a network from one run
    _write_results(root, other[0], actual, predicted, names, other[:1])
    text = _run([sys.executable, "-m", "emoser.reporting.review", "main"], root).stdout
    row = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    assert "**not judged (one training run)**" in row and "3 / 1 training runs" in row, row


def test_the_shipped_copy_of_a_study_network_is_judged_once(repo):
    """The shipped model is a byte copy of its study twin: two rows with the same predictions. The Holm
    family counts that model once (the twin's row), and the copy's row takes the twin's verdict."""
    root, actual, predicted, names = repo

    def with_twin(predicted_now, runs):
        _write_results(root, predicted_now, actual, predicted, names, runs)
        twin = root / "metrics/study/cnn-cce.json"
        twin.parent.mkdir(parents=True, exist_ok=True)
        twin.write_text((root / "metrics/model.json").read_text())
        (root / "plots/study/cnn-cce/confusion.csv").write_text((root / "plots/model/confusion.csv").read_text())

    base_runs = _reseeded(np.random.default_rng(0), predicted, actual)
    with_twin(predicted, base_runs)
    _run(["git", "add", "-A"], root)
    _run(["git", "commit", "-qm", "with the twin"], root)
    improved = predicted.copy()
    wrong = np.flatnonzero(predicted != actual)[:30]
    improved[wrong] = actual[wrong]
    with_twin(improved, _reseeded(np.random.default_rng(5), improved, actual))
    text = _run([sys.executable, "-m", "emoser.reporting.review", "main"], root).stdout
    model = next(line for line in text.splitlines() if line.startswith("| holdout | model |"))
    twin = next(line for line in text.splitlines() if line.startswith("| holdout | cnn-cce |"))
    assert "the same predictions as cnn-cce: judged once, there" in model and "**better**" in model, model
    assert "**better**" in twin and "same predictions" not in twin, twin
    # one member in the family: the Holm-adjusted p is the row's own p
    p, adjusted = re.search(r"\| ([0-9.e-]+) \(([0-9.e-]+)\) \| \*\*better", twin).groups()
    assert p == adjusted, twin
