"""`dvc plots show` renders offline: the page carries Vega itself, and Chromium draws it."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import image

from conftest import REPO

TEMPLATE = REPO / ".dvc" / "plots" / "offline.html"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args, cwd):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    assert TEMPLATE.is_file(), f"{TEMPLATE} is missing: run setup.sh (it builds it from npm)"
    repo = tmp_path_factory.mktemp("plots")
    _run(["git", "init", "-q"], repo)
    _run(["dvc", "init", "-q"], repo)
    (repo / ".dvc" / "plots").mkdir(exist_ok=True)
    shutil.copy(TEMPLATE, repo / ".dvc" / "plots" / "offline.html")
    shutil.copy(REPO / ".dvc" / "config", repo / ".dvc" / "config")
    _run(["dvc", "config", "--local", "plots.html_template", "plots/offline.html"], repo)   # as setup.sh does
    epochs = np.arange(1, 11)
    pd.DataFrame({"epoch": epochs, "loss": 1 / epochs, "val_loss": 1.2 / epochs}).to_csv(
        repo / "history.csv", index=False)
    (repo / "dvc.yaml").write_text(json.dumps(
        {"plots": [{"loss": {"template": "linear", "x": "epoch", "y": {"history.csv": ["loss", "val_loss"]}}}]}))
    _run(["dvc", "plots", "show", "-o", "out"], repo)
    return repo / "out" / "index.html"


def test_plots_show_works_without_the_offline_template(tmp_path):
    """A clone whose setup had no npm: the committed .dvc/config names no template, so DVC's own
    page is written (it loads Vega from a CDN) instead of failing on a missing file."""
    _run(["git", "init", "-q"], tmp_path)
    _run(["dvc", "init", "-q"], tmp_path)
    shutil.copy(REPO / ".dvc" / "config", tmp_path / ".dvc" / "config")
    pd.DataFrame({"epoch": [1, 2], "loss": [1.0, 0.5]}).to_csv(tmp_path / "history.csv", index=False)
    (tmp_path / "dvc.yaml").write_text(json.dumps(
        {"plots": [{"loss": {"template": "linear", "x": "epoch", "y": {"history.csv": ["loss"]}}}]}))
    _run(["dvc", "plots", "show", "-o", "out"], tmp_path)
    html = (tmp_path / "out" / "index.html").read_text()
    assert '"loss"' in html and "vega" in html.lower()


def test_page_loads_nothing_from_the_network(page):
    html = page.read_text()
    assert "cdn.jsdelivr" not in html and "<script src=" not in html
    assert "vega-embed" in html and '"loss"' in html      # the libraries and the data are inline


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (.ci/run installs it)")
def test_chromium_draws_the_plot_offline(page, tmp_path):
    shot = tmp_path / "shot.png"
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=10000", "--window-size=900,700"]
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120)
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=120).stdout
    assert 'class="marks"' in dom          # vega-embed ran and drew its canvas/svg
    pixels = (image.imread(shot)[..., :3] * 255).astype(int)
    # the curves are drawn in colour; axes, text and a blank page are grey, black or white
    coloured = (pixels.max(axis=-1) - pixels.min(axis=-1)) > 60
    assert coloured.sum() > 500, "no coloured curve on the page: the plot did not render"
