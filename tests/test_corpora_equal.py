"""Every corpus an equal (issue 35): corpora are data, not code. No module branches on a corpus's or a
layout's name outside the layout modules; the networks' corpus is a role in params, and switching it
moves every networks stage to that corpus's folder with no other edit."""
from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from conftest import REPO

PACKAGE = REPO / "src" / "emoser"
# where a layout's name may appear: the layouts themselves, and the params schema listing them
LAYOUT_MODULES = {"corpora/emodb.py", "corpora/ravdess.py", "corpora/nemo.py", "corpora/layouts.py", "corpora/table.py",
                  "params/corpora.py"}


def _names() -> set[str]:
    from emoser.params.corpora import LAYOUTS

    corpora = yaml.safe_load((REPO / "params.yaml").read_text())["corpora"]
    return set(LAYOUTS) | set(corpora)


def _branches_on_a_name(tree: ast.AST, names: set[str]) -> list[int]:
    """Lines that compare with, index by or key a dict by a corpus's or layout's name."""
    def named(node) -> bool:
        return isinstance(node, ast.Constant) and node.value in names

    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(named(n) for n in (node.left, *node.comparators)):
            lines.append(node.lineno)
        elif isinstance(node, ast.Subscript) and named(node.slice):
            lines.append(node.lineno)
        elif isinstance(node, ast.Dict) and any(k is not None and named(k) for k in node.keys):
            lines.append(node.lineno)
    return lines


def test_no_module_branches_on_a_corpus_name():
    names = _names()
    assert {"emodb", "ravdess", "csv"} <= names
    problems = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in LAYOUT_MODULES:
            continue
        lines = _branches_on_a_name(ast.parse(path.read_text()), names)
        if lines:
            problems[relative] = lines
    assert not problems, f"branches on a corpus's name (put it in the layout or in params): {problems}"


def test_the_checker_sees_a_branch():
    code = 'if corpus == "emodb":\n    x = 1\ny = TITLES["ravdess"]\nz = {"emodb": "Emo-DB"}\n'
    assert _branches_on_a_name(ast.parse(code), {"emodb", "ravdess"}) == [1, 3, 4]


def test_the_networks_role_moves_every_networks_stage(tmp_path):
    """`-S roles.networks=ravdess`, as dvc resolves dvc.yaml: the networks' stages read and write
    data/study/ravdess/, the per-corpus stages are unchanged, and nothing names emodb any more."""
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    dvc = [sys.executable, "-m", "dvc"]
    subprocess.run([*dvc, "init", "-q"], cwd=tmp_path, check=True)

    def stages() -> dict[str, str]:
        listed = subprocess.run([*dvc, "stage", "list", "--fail"], cwd=tmp_path, capture_output=True, text=True,
                                check=True).stdout
        return dict(line.split(None, 1) for line in listed.splitlines() if line.strip())

    before = stages()
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["roles"]["networks"] = "ravdess"
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    after = stages()
    assert set(before) == set(after)
    for stage in ("augment", "features", "split", "cv", "calibrate"):
        assert "data/study/emodb/" in before[stage] and "data/study/ravdess/" in after[stage], stage
    for stage in ("fetch@emodb", "extract@emodb-whisper", "ours@ravdess", "baselines@emodb"):
        assert before[stage] == after[stage], stage


def test_a_corpus_added_in_params_gets_every_per_corpus_stage(tmp_path):
    for name in ("dvc.yaml", "params.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    params = yaml.safe_load((tmp_path / "params.yaml").read_text())
    params["corpora"]["mine"] = {"layout": "csv", "source": "labels.csv", "sha256": None, "labels": {},
                                 "timeout_s": 60, "max_archive_mb": 10}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=tmp_path, check=True)
    names = subprocess.run([sys.executable, "-m", "dvc", "stage", "list", "--name-only"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout.split()
    mine = sorted(n for n in names if "mine" in n)
    assert mine == sorted([*(f"{s}@mine" for s in ("fetch", "folds", "baselines", "ours", "crosscorpus")),
                           *(f"extract@mine-{e}" for e in ("opensmile", "embeddings", "whisper"))])
    assert Path(tmp_path / "dvc.yaml").read_text() == (REPO / "dvc.yaml").read_text()
