"""The benchmark script runs on what the pipeline made (tests/e2e.py's shared build): a smoke check."""
from __future__ import annotations

import re
import sys

import pytest

from e2e import run

pytestmark = pytest.mark.e2e


def test_the_benchmark_runs_on_what_the_pipeline_made(e2e_build, tmp_path):
    repo, env = e2e_build.copy(tmp_path / "repo")
    # The benchmark runs on what the pipeline made (a smoke check of the script; its figures are not judged)
    # (--repro, a second whole rebuild in a fresh clone, is tested on a two-stage project: tests/test_bench.py)
    bench = run([sys.executable, "benchmarks/bench.py", "--utterances", "4", "--quick"], repo, env)
    # 4 utterances × (original + 1 pitch + 1 stretch copy) in the tiny params
    assert "ours: 12 clips" in bench and "originals' features differ by at most" in bench
    assert "cnn_lstm:" in bench and "predict one 2-s clip" in bench
    assert "predict one 2-s clip with ours" in bench and "files/s after start-up" in bench
    assert "one 2-s clip in process: served_predict_ms" in bench and "speech_no_speech_ms" in bench
    assert re.search(r"mlflow models serve: up in [\d.]+ s; one 2-s clip per POST: \d+ ms median", bench), bench
    assert not (repo / "metrics/bench.json").exists()     # only with --write
