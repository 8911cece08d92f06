"""A DVC stage runs its own workspace's code (src/emoser_workspace.py, the .pth setup.sh writes), not the tree
the editable install points at: in a second clone and in `dvc exp run --temp`'s workspace (as `dvc queue`'s)."""
from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import yaml

import emoser_workspace

WHERE = "python -c 'import emoser.probe as p; print(p.__file__)' > where.txt"


def _run(args: list[str], cwd: Path, env: dict) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def test_the_stage_environment_puts_its_workspace_source_first(tmp_path):
    (tmp_path / "src" / "emoser").mkdir(parents=True)
    (tmp_path / "src" / "emoser" / "__init__.py").write_text("")
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "data" / "deep").mkdir(parents=True)
    (tmp_path / "other" / ".dvc").mkdir(parents=True)   # a DVC project without emoser's source
    stage = {"DVC_STAGE": "where", "DVC_ROOT": "/where/the/experiment/came/from"}
    path = ["", "/elsewhere/src"]
    assert emoser_workspace.use_workspace_source(stage, path, str(tmp_path)) == str(tmp_path / "src")
    assert path == [str(tmp_path / "src"), "", "/elsewhere/src"]
    # from a folder below the workspace's root (a stage's wdir), and only once
    assert emoser_workspace.use_workspace_source(stage, path, str(tmp_path / "data" / "deep")) == str(tmp_path / "src")
    assert len(path) == 3
    # no stage running, a project without emoser's source, no DVC project: the path stays as it was
    for environ, cwd in (({}, tmp_path), (stage, tmp_path / "other"), (stage, tmp_path.parent)):
        unchanged = ["", "/elsewhere/src"]
        assert emoser_workspace.use_workspace_source(environ, unchanged, str(cwd)) is None, cwd
        assert unchanged == ["", "/elsewhere/src"]


def test_a_second_workspace_and_a_temporary_experiment_run_their_own_code(tmp_path):
    pth = Path(sysconfig.get_path("purelib")) / "emoser_workspace.pth"
    assert pth.is_file(), f"{pth} is missing: `bash setup.sh` writes it"
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)   # what a user's shell has: only the editable install
    repo = tmp_path / "clone"
    package = repo / "src" / "emoser"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "probe.py").write_text("")    # a module the installed tree lacks
    (repo / "params.yaml").write_text("p: 1\n")
    (repo / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"where": {
        "cmd": WHERE, "params": ["p"], "outs": ["where.txt"]}}}))
    for command in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "t"]):
        _run(command, repo, env)
    # outside a stage, the installed tree: it has no emoser.probe
    outside = subprocess.run([sys.executable, "-c", "import emoser.probe"], cwd=repo, env=env, capture_output=True,
                             text=True)
    assert outside.returncode != 0 and "No module named 'emoser.probe'" in outside.stderr, outside.stderr
    _run(["dvc", "repro"], repo, env)
    assert Path((repo / "where.txt").read_text().strip()) == package / "probe.py"
    _run(["git", "add", "-A"], repo, env)
    _run(["git", "commit", "-qm", "built"], repo, env)
    # the experiment runs in a temporary workspace of its own (.dvc/tmp/exps/), with its own copy of src
    _run(["dvc", "exp", "run", "--temp", "-n", "probe", "-S", "p=2"], repo, env)
    _run(["dvc", "exp", "apply", "probe"], repo, env)
    ran = Path((repo / "where.txt").read_text().strip())
    assert ran.parts[-3:] == ("src", "emoser", "probe.py") and ".dvc" in ran.parts and "exps" in ran.parts, ran
