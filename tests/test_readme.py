"""The README stays short and its results table cannot go stale: it is the report stage's
reports/headline.md, generated from the committed metrics."""
from __future__ import annotations

import re

import pytest

from conftest import REPO
from emoser.core.errors import EmoserError
from emoser.reporting.readme import RESULTS_END, RESULTS_START, results_block, update_results

README = REPO / "README.md"


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 180   # issue 35: a README read in minutes


def test_readme_results_are_the_generated_table():
    headline = (REPO / "reports" / "headline.md").read_text()
    assert results_block(README.read_text()) == headline.strip("\n")
    # and that table says what the committed metrics say: our model's LOSO UAR, to 3 places
    import json

    ours = json.loads((REPO / "metrics" / "ours.json").read_text())["loso"]["ours"]["pooled"]
    assert f"{ours['uar']:.3f} [{ours['uar_ci']['low']:.3f}, {ours['uar_ci']['high']:.3f}]" in headline


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)\)", README.read_text()):
        if not target.startswith("http"):
            assert (REPO / target).exists(), target


def test_update_results_replaces_only_the_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text(f"# title\n\n{RESULTS_START}\nold\n{RESULTS_END}\n\nafter\n")
    assert update_results(readme, "| a |\n|---|\n| 1 |\n")
    assert readme.read_text() == f"# title\n\n{RESULTS_START}\n| a |\n|---|\n| 1 |\n{RESULTS_END}\n\nafter\n"
    assert not update_results(readme, "| a |\n|---|\n| 1 |")      # unchanged: not rewritten
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers\n")
    assert not update_results(plain, "| a |")
    with pytest.raises(EmoserError, match="no results markers"):
        results_block("no markers")
