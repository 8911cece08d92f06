"""The type check, as one of the tests: mypy over src/emoser (pyproject.toml's [tool.mypy]) runs on a test
worker beside the others instead of before them (~20 s of CI on 2 cores)."""
from __future__ import annotations

import subprocess
import sys

from conftest import REPO


def test_mypy_finds_no_type_errors():
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert done.stdout.startswith("Success: no issues found in "), done.stdout
