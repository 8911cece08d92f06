"""The benchmark's rebuild timing (`bench.py --repro`) on a two-stage DVC project: each stage's
wall time from DVC's own announcements, then a no-op rerun. (The e2e test runs the rest of the
benchmark on the pipeline it built.)"""
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from conftest import REPO


def _bench():
    spec = importlib.util.spec_from_file_location("bench", REPO / "benchmarks" / "bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_repro_seconds_times_each_stage_then_a_noop_and_noop_refuses_work(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "first": {"cmd": "sleep 1 && echo a > a.txt", "outs": ["a.txt"]},
        "second": {"cmd": "cat a.txt > b.txt", "deps": ["a.txt"], "outs": ["b.txt"]}}}))
    bench = _bench()
    with pytest.raises(SystemExit, match="is not clean; run `dvc repro` first"):
        bench.noop_seconds(tmp_path)          # --noop times nothing but a no-op
    stages, noop = bench.repro_seconds(tmp_path)
    assert list(stages) == ["first", "second"] and stages["first"] >= 1.0, stages
    assert (tmp_path / "b.txt").read_text() == "a\n" and 0 < noop < 60
    figures = bench.noop_seconds(tmp_path, runs=2)
    assert len(figures["runs_s"]) == 2 and 0 < figures["median_s"] < 60
    # the README's main command: `dvc exp run -S ...` (a path value made absolute, for the clone)
    (tmp_path / "params.yaml").write_text("word: a\n")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {
        "first": {"cmd": "echo ${word} > a.txt", "params": ["word"], "outs": ["a.txt"]},
        "second": {"cmd": "cat a.txt > b.txt", "deps": ["a.txt"], "outs": ["b.txt"]}}}))
    for command in (["git", "add", "-A"], ["git", "-c", "user.name=t", "-c", "user.email=t@t.invalid", "commit",
                                           "-qm", "t"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    stages, _ = bench.repro_seconds(tmp_path, ["word=b"])
    assert list(stages) == ["first", "second"] and (tmp_path / "b.txt").read_text() == "b\n"
    monkeypatch.chdir(tmp_path)
    assert bench.source_sets(["corpora.x.source=a.txt", "model.loss=mse"]) == [
        f"corpora.x.source={tmp_path / 'a.txt'}", "model.loss=mse"]


def test_a_timed_workspace_runs_its_own_code_not_the_installed_package(tmp_path, monkeypatch):
    """bench.py times a fresh clone; its stages must import the clone's emoser, not the working tree an
    editable install points at (the timings and the lock would be of other code): setup.sh's
    emoser_workspace.pth sees to it for every stage (tests/test_workspace_source.py)."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DVC_NO_ANALYTICS", "1")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(command, cwd=tmp_path, check=True)
    (tmp_path / "src" / "emoser").mkdir(parents=True)
    (tmp_path / "src" / "emoser" / "__init__.py").write_text("")
    (tmp_path / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"where": {
        "cmd": "python -c 'import emoser; print(emoser.__file__)' > where.txt", "outs": ["where.txt"]}}}))
    installed = subprocess.run([sys.executable, "-c", "import emoser; print(emoser.__file__)"], cwd=tmp_path,
                               capture_output=True, text=True, check=True).stdout.strip()
    assert Path(installed).resolve() != (tmp_path / "src" / "emoser" / "__init__.py").resolve()
    bench = _bench()
    bench.repro_seconds(tmp_path)
    assert Path((tmp_path / "where.txt").read_text().strip()).resolve() == \
        (tmp_path / "src" / "emoser" / "__init__.py").resolve()


def test_write_updates_only_what_this_run_measured(tmp_path):
    bench = _bench()
    path = tmp_path / "bench.json"
    bench.write({"machine": {"cores": 2}, "rebuild": {"total_s": 900.0}, "scale": {"100x1": {"clips": 700}}}, path)
    bench.write({"machine": {"cores": 2, "cpu": "x"}, "scale": {"100x10": {"clips": 7000}}}, path)
    import json
    written = json.loads(path.read_text())
    assert written == {"machine": {"cores": 2, "cpu": "x"}, "rebuild": {"total_s": 900.0},
                       "scale": {"100x1": {"clips": 700}, "100x10": {"clips": 7000}}}


def test_the_rebuild_figure_groups_a_matrix_and_names_the_machine(tmp_path):
    spec = importlib.util.spec_from_file_location("rebuild_figure", REPO / "benchmarks" / "rebuild_figure.py")
    figure = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(figure)
    stages = {"sources": 2.0, "extract@emodb-whisper": 60.0, "extract@nemo-whisper": 50.0, "cv": 600.0, "fit": 60.0}
    assert figure.families(stages) == {"sources": {"sources": 2.0}, "cv": {"cv": 600.0}, "fit": {"fit": 60.0},
                                       "extract": {"emodb-whisper": 60.0, "nemo-whisper": 50.0}}
    assert [figure.kind(f) for f in ("cv", "fit", "extract", "sources")] == [
        "networks", "our model's fits", "features of every corpus", "bookkeeping"]
    (tmp_path / "bench.json").write_text(json.dumps({"machine": {"cpu": "Some CPU", "cores": 2},
                                                     "rebuild": {"stage_s": stages, "total_s": 772.0}}))
    out = figure.main(["--bench", str(tmp_path / "bench.json"), "--out", str(tmp_path / "f.png")])
    with Image.open(out) as image:
        assert image.size[0] == 1100 and image.size[1] > 200
    (tmp_path / "empty.json").write_text("{}")
    with pytest.raises(SystemExit, match="has no section rebuild"):
        figure.main(["--bench", str(tmp_path / "empty.json"), "--out", str(tmp_path / "g.png")])
    # before and after: each family's earlier total under its bar, the figure taller
    bench = json.loads((tmp_path / "bench.json").read_text())
    bench["rebuild_base"] = {"stage_s": {**stages, "cv": 1200.0}, "total_s": 1372.0, "commit": "abc1234"}
    (tmp_path / "bench.json").write_text(json.dumps(bench))
    both = figure.main(["--bench", str(tmp_path / "bench.json"), "--out", str(tmp_path / "h.png"),
                        "--before", "rebuild_base"])
    with Image.open(out) as alone, Image.open(both) as image:
        assert image.size[0] == 1100 and image.size[1] > alone.size[1]
    with pytest.raises(SystemExit, match="has no section nowhere"):
        figure.main(["--bench", str(tmp_path / "bench.json"), "--out", str(tmp_path / "i.png"), "--before", "nowhere"])
