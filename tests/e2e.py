"""The end-to-end tests' one build of the real pipeline, shared by every test and pytest-xdist worker.

`dvc repro` of the tiny corpora (Emo-DB's layout served as a zip over HTTP, RAVDESS's from a folder) is
built once per test session, under a file lock in the session's shared temp folder: the first worker to
ask builds it, the others wait (asleep: no CPU) and then read it. Each test that changes a workspace
(a sweep, a reseed, a queue, a pull request) works in its own copy, so they run side by side on the
workers. Written by hand rather than with a pytest plugin: pytest-xdist documents this lock as the way
to run a session fixture once ("Making session-scoped fixtures execute only once").

The copies keep the template's MLflow store, whose experiments name their artifact folder by absolute
path (emoser.tracking.store.use_experiment): a copy's new runs put their artifacts in the template's
folder, under their own run ids. No test reads those back from a copy; the pull-request test makes a
fresh clone with a store of its own, as a user's clone would.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from filelock import FileLock

from conftest import REPO, make_corpus, make_ravdess_corpus, zip_folder
from emoser.evaluation.scoring import scored_models

VARIANTS = ["model", "study/cnn-cce", "study/cnn-mse", "study/cnn_lstm-cce", "study/cnn_lstm-mse"]

# Serve a folder on 127.0.0.1 (argv[1]) until the process argv[2] (pytest's main process) is gone: the
# build's source outlives the worker that built it, for every copy's `sources` stage to ask.
_SERVER = """
import functools, http.server, os, sys, threading, time
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
while True:
    time.sleep(1)
    try:
        os.kill(int(sys.argv[2]), 0)
    except ProcessLookupError:
        break
"""


_SERVERS: list[subprocess.Popen] = []     # the build's source, served while pytest runs


def run(args, cwd: Path, env: dict) -> str:
    """Run a command; its stdout and stderr, or a failed assertion with their end."""
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{' '.join(map(str, args))} failed:\n{output[-6000:]}"
    return output


SOURCES_STAGE = "pipelines/sources/dvc.yaml:sources"   # how DVC names stage sources (its own pipeline file)


def ran(out: str) -> set[str]:
    """The stages a `dvc repro` / `dvc exp run` ran, less stage sources (always_changed: it runs every time
    and, when no source changed, writes what was there)."""
    return {line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")} - {SOURCES_STAGE}


def expected_runs(repo: Path) -> int:
    """MLflow runs after the main command: 5 networks; cv: 3 protocols; baselines, ours: 3 protocols each
    (4 and 2 models); the served model; and every result of metrics/corpora.json (the other corpus's
    LOSO, both directions, leave one corpus out)."""
    across = len(list(scored_models(json.loads((repo / "metrics/corpora.json").read_text()))))
    assert across >= 10, across
    return 5 + 3 + 4 * 3 + 2 * 3 + 1 + across


def assert_reviewed_change(path: Path) -> None:
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


def tiny_params(url: str, ravdess: Path) -> dict:
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


def environment(repo: Path) -> dict:
    """The environment of every command in `repo`: its own source, no DVC analytics, git's identity."""
    env = {**os.environ, "PYTHONPATH": str(repo / "src"), "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    env.pop("MLFLOW_TRACKING_URI", None)
    return env


@dataclass(frozen=True)
class Built:
    """The shared build: `repo` (read it, never change it: copy() it), what its `dvc repro` printed, and the
    folder of the corpora and the HTTP site."""
    root: Path
    repo: Path
    repro: str

    def copy(self, dest: Path) -> tuple[Path, dict]:
        """A copy of the built repository at `dest` (DVC's cache and run cache, git, the MLflow store; not
        DVC's temp folder, nor Python's byte code, which a test's commands may be writing in the template)
        and the environment for it."""
        def skipped(folder: str, names: list[str]) -> list[str]:
            return [n for n in names if n == "__pycache__" or (n == "tmp" and Path(folder) == self.repo / ".dvc")]

        shutil.copytree(self.repo, dest, symlinks=True, ignore=skipped)
        return dest, environment(dest)


def _main_pid() -> int:
    """pytest's main process: a pytest-xdist worker's parent, else this one."""
    return os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()


def _build(root: Path) -> str:
    site = root / "site"
    site.mkdir(parents=True)
    zip_folder(make_corpus(root / "corpus", extra_files={"notes.wav": b"not audio"}), site / "download.zip")
    make_ravdess_corpus(root / "ravdess")
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(site), str(_main_pid())],
                              stdout=subprocess.PIPE, text=True)
    assert server.stdout is not None
    url = f"http://127.0.0.1:{server.stdout.readline().strip()}/download.zip"
    server.stdout.close()
    _SERVERS.append(server)
    repo = root / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", ".dvcignore", ".gitignore", "README.md"):
        shutil.copy(REPO / name, repo / name)
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    shutil.copytree(REPO / "benchmarks", repo / "benchmarks")
    shutil.copytree(REPO / "presets", repo / "presets")
    shutil.copytree(REPO / "pipelines", repo / "pipelines", ignore=shutil.ignore_patterns("dvc.lock"))
    shutil.copytree(REPO / ".ci", repo / ".ci", ignore=shutil.ignore_patterns("tools"))
    (repo / "params.yaml").write_text(yaml.safe_dump(tiny_params(url, root / "ravdess"), sort_keys=False))
    env = environment(repo)
    run(["git", "init", "-q"], repo, env)
    run(["git", "config", "user.name", "emoser tests"], repo, env)
    run(["git", "config", "user.email", "tests@emoser.invalid"], repo, env)
    run(["dvc", "init", "-q"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "tiny"], repo, env)
    out = run(["dvc", "repro"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-qm", "baseline"], repo, env)
    return out


def built(shared_temp: Path) -> Built:
    """The shared build in `shared_temp` (the session's temp folder, common to every worker): built by
    the first caller, waited for by the others; a failed build fails every caller with its message."""
    root = shared_temp / "e2e-build"
    log, failed = root / "repro.log", root / "failed.log"
    with FileLock(str(shared_temp / "e2e-build.lock")):
        if not log.exists() and not failed.exists():
            try:
                out = _build(root)
            except BaseException as error:      # noqa: BLE001 - told to every waiting test, then raised
                root.mkdir(parents=True, exist_ok=True)
                failed.write_text(f"{type(error).__name__}: {error}")
                raise
            log.write_text(out)
    if failed.exists():
        raise AssertionError(f"the shared end-to-end build failed:\n{failed.read_text()[-6000:]}")
    return Built(root=root, repo=root / "repo", repro=log.read_text())
