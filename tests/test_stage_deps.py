"""dvc.yaml's deps cover the project files each stage imports, so that `dvc status` sees every code
change that can change a stage's outputs: each subpackage folder it reads, or for the stages whose rerun
costs minutes exactly the files (tools/stage_deps.py writes them). No stage imports another."""
from __future__ import annotations

import yaml

from conftest import REPO
from stage_deps import (
    DVC_YAMLS,
    FINE,
    WHOLE,
    closure,
    deps,
    direct_imports,
    listed_code,
    needed_files,
    pipeline_stages,
    stage_modules,
    write_deps,
)


def _stages() -> dict:
    return pipeline_stages()


def test_every_stage_depends_on_the_code_it_imports_as_the_tool_writes_it(tmp_path):
    problems = []
    for name, module in stage_modules().items():
        needed, listed = set(needed_files(module)), set(listed_code(_stages()[name]))
        if needed - listed:
            problems.append(f"{name}: imports but does not depend on {sorted(needed - listed)}")
        extra = {f for f in listed - needed if not f.startswith(tuple(f"{w}/" for w in WHOLE))}
        if name in FINE and extra:
            problems.append(f"{name}: depends on code it does not import (reruns for nothing): {sorted(extra)}")
    assert not problems, "\n".join(problems)
    # and each pipeline file is what `python tools/stage_deps.py --write` makes of it
    assert {p.relative_to(REPO).as_posix() for p in DVC_YAMLS} == {"dvc.yaml", "pipelines/sources/dvc.yaml"}
    assert "sources" in _stages() and "sources" not in yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    for path in DVC_YAMLS:
        copy = tmp_path / "dvc.yaml"
        copy.write_text(path.read_text())
        assert not write_deps(copy), f"run `python tools/stage_deps.py --write` ({path.name}'s deps are not its)"
    # the policy: folders for a cheap stage, files for an expensive one
    modules = stage_modules()
    assert "src/emoser/core" in deps("report", modules["report"]) and "src/emoser/models/classical" in \
        deps("report", modules["report"])
    assert "src/emoser/features/frames.py" not in deps("cv", modules["cv"]) and "src/emoser/features" not in \
        deps("cv", modules["cv"]) and "src/emoser/features/dataset.py" in deps("cv", modules["cv"])


def test_every_stage_runs_its_own_module_in_emoser_stages():
    for name, module in stage_modules().items():
        assert module == f"emoser.stages.{name.split('@')[0].removeprefix('study-').removeprefix('corpus-')}" or \
            module in ("emoser.stages.train", "emoser.stages.evaluate"), (name, module)
        assert (REPO / "src" / "emoser" / "stages" / f"{module.rsplit('.', 1)[1]}.py").is_file()


def test_no_stage_module_imports_another():
    stages = {p.stem for p in (REPO / "src" / "emoser" / "stages").glob("*.py") if p.stem != "__init__"}
    for stage in stages:
        imported = {m for m in closure(f"emoser.stages.{stage}") if m.startswith("emoser.stages.")}
        assert imported <= {f"emoser.stages.{stage}", "emoser.stages"}, (stage, imported)


def test_the_library_does_not_import_the_stages():
    package = REPO / "src" / "emoser"
    library = [p for p in package.rglob("*.py") if p.stem not in ("cli", "__main__") and "stages" not in p.parts]
    assert len(library) > 50
    for path in library:
        rel = path.relative_to(REPO / "src").with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        assert not [m for m in direct_imports(module) if m.startswith("emoser.stages")], module


def test_training_depends_on_little():
    # The expensive stages must not rerun for a change of the report, the baselines or our model.
    for stage in ("train", "cv"):
        code = set(needed_files(stage_modules()[stage]))
        assert code, stage
        for unrelated in ("reporting/report", "models/classical/svm", "models/classical/fusion",
                          "tracking/runs" if stage == "train" else "reporting/readme", "features/opensmile",
                          "features/voice_encoder", "corpora/fetching", "audio/augmentation", "protocols/split"
                          if stage == "train" else "params/mlflow", "params/ours", "params/baselines"):
            assert (REPO / f"src/emoser/{unrelated}.py").is_file(), unrelated
            assert f"src/emoser/{unrelated}.py" not in code, (stage, unrelated)
    # stage train records the upstream sections' params, but runs no fold, split or augmentation code
    assert not [f for f in needed_files(stage_modules()["train"]) if f.startswith("src/emoser/protocols/")]


def test_the_shared_checker_agrees(tmp_path):
    # ../shared/tools/stage_deps.py is the workplace's own reading of the imports, where present: it
    # finds no import a stage's deps miss, and it calls deps wider than the imports (a whole folder)
    # only for the stages that depend on folders by policy, and for those in FINE only by the folders
    # they list whole (WHOLE: small schemas and definitions).
    import subprocess
    import sys

    tool = REPO.parent / "shared" / "tools" / "stage_deps.py"
    if not tool.exists():
        return
    result = subprocess.run([sys.executable, str(tool)], cwd=REPO, capture_output=True, text=True)
    lines = result.stdout.splitlines()
    assert not [line for line in lines if "imports but does not depend on" in line], result.stdout
    whole = tuple(f"{w}/" for w in WHOLE)
    for line in lines:
        if line.split(":")[0].split("@")[0] in FINE:
            files = line.split("(reruns for nothing):")[-1].split(",")
            assert all(f.strip().startswith(whole) for f in files), line
    assert all("depends on code it does not import" in line for line in lines), result.stdout + result.stderr
