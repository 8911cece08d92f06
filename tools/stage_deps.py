"""Each dvc.yaml stage's code deps, read from the source (ast; nothing is run), and written into dvc.yaml
(and pipelines/*/dvc.yaml: stage sources has its own file, for its own lock).

    python tools/stage_deps.py --write       # rewrite every stage's src/ deps in dvc.yaml (data deps kept)
    python tools/stage_deps.py --deps        # per stage: the src/ deps it should list
    python tools/stage_deps.py --rerun       # per module: the stages that rerun when it changes
    python tools/stage_deps.py               # per stage: every project file it imports

Every import counts, also one inside a function (it runs when that code path does). A package's
``__init__.py`` counts when it holds code (over 200 bytes, as ../shared/tools/stage_deps.py reads it).

The policy (``deps``): a stage depends on each subpackage folder it imports from (``src/emoser/features``,
``src/emoser/models/classical``, …), whole: a short dvc.yaml, and a change anywhere in a folder reruns
what reads it. Except the stages in ``FINE``, whose rerun costs minutes: they list the files they import
(whole folders only where they import every file), so that an edit elsewhere in a folder leaves them be.
tests/test_stage_deps.py fails when dvc.yaml is not what ``--write`` writes.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DVC_YAML = REPO / "dvc.yaml"
DVC_YAMLS = (DVC_YAML, *sorted((REPO / "pipelines").glob("*/dvc.yaml")))     # every pipeline file, one graph
SRC = REPO / "src"
PACKAGE = "emoser"


def module_file(module: str) -> Path | None:
    base = SRC.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def direct_imports(module: str) -> set[str]:
    """The project modules ``module`` imports (absolute or relative, anywhere in the file)."""
    path = module_file(module)
    assert path is not None, module
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                name = ".".join(parts + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.split(".")[0] != PACKAGE:
                continue
            found.add(name)
            found |= {f"{name}.{a.name}" for a in node.names if module_file(f"{name}.{a.name}")}
    return {m for m in found if module_file(m)}


def closure(module: str) -> set[str]:
    """``module`` and everything it imports, transitively, with the packages that hold them."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += direct_imports(name)
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]
    return seen


def needed_files(module: str) -> list[str]:
    files = []
    for name in closure(module):
        path = module_file(name)
        assert path is not None
        if path.name == "__init__.py" and path.stat().st_size <= 200:
            continue
        files.append(path.relative_to(REPO).as_posix())
    return sorted(files)


def pipeline_stages() -> dict[str, dict]:
    """Every stage of every pipeline file (``DVC_YAMLS``), by name."""
    return {name: stage for path in DVC_YAMLS for name, stage in yaml.safe_load(path.read_text())["stages"].items()}


def stage_modules(dvc_yaml: Path | None = None) -> dict[str, str]:
    """Stage name -> the module its cmd runs (``python -m emoser.stages.NAME``), of ``dvc_yaml`` or of
    every pipeline file."""
    stages = pipeline_stages() if dvc_yaml is None else yaml.safe_load(dvc_yaml.read_text())["stages"]
    out = {}
    for name, stage in stages.items():
        match = re.search(r"python -m ([\w.]+)", stage["cmd"])
        assert match, f"{name}: cmd does not run a module"
        out[name] = match.group(1)
    return out


def _code_files(path: str) -> list[str]:
    """The Python files a dep names: the file, or every ``.py`` file under a folder."""
    full = REPO / path
    if full.is_dir():
        return sorted(f.relative_to(REPO).as_posix() for f in full.rglob("*.py"))
    return [path]


def listed_code(stage: dict) -> list[str]:
    """The project code a stage's deps cover (folders expanded to their files; small ``__init__.py``
    files, docstrings only, are left out as ``needed_files`` leaves them out)."""
    listed = {f for d in stage.get("deps", []) if isinstance(d, str) and d.startswith("src/") for f in _code_files(d)}
    return sorted(f for f in listed if not (f.endswith("__init__.py") and (REPO / f).stat().st_size <= 200))


# Folders a costly stage lists whole although it imports only some of their files: the protocols' names,
# folds and split, which reach the fits as data (folds.csv) whenever an edit changes what they make.
WHOLE = ("src/emoser/protocols",)


def shortest_deps(module: str) -> list[str]:
    """``needed_files`` written as dvc.yaml should list them: a whole folder where the stage needs every
    file in it (and in its sub-folders) or it is one of ``WHOLE``, else the files one by one."""
    needed = set(needed_files(module))
    needed |= {f for folder in WHOLE if any(n.startswith(folder + "/") for n in needed)
               for f in listed_code({"deps": [folder]})}
    folders = sorted({str(Path(f).parent) for f in needed}, key=lambda d: d.count("/"))
    chosen: list[str] = []
    for folder in folders:
        if any(folder == c or folder.startswith(c + "/") for c in chosen) or folder == "src/emoser":
            continue
        if set(listed_code({"deps": [folder]})) <= needed:
            chosen.append(folder)
    covered = {f for c in chosen for f in _code_files(c)}
    return sorted(chosen) + sorted(needed - covered)


def rerun_table() -> dict[str, list[str]]:
    """Module file -> the stages whose deps (as ``deps`` writes them) cover it: those that rerun when it changes."""
    table: dict[str, list[str]] = {}
    for stage, module in stage_modules().items():
        for path in listed_code({"deps": deps(stage, module)}):
            table.setdefault(path, []).append(stage)
    return dict(sorted(table.items()))


# Stages whose rerun costs minutes (2-core Intel Xeon, 2026-12-05; docs/benchmark.md): the networks
# (cv 20 fold trainings, study-train 4 variants x 3 seeds), our model's fits (ours, calibrate,
# crosscorpus, fit, loco) and what feeds them (extract: ~5 min for 9; augment, features). An edit of,
# say, features/frames.py must not refit our model, nor an edit of features/views.py retrain the
# networks, nor a new network param (params/networks.py) extract every corpus again (2026-12-06: it did).
FINE = ("study-train", "cv", "baselines", "ours", "calibrate", "crosscorpus", "fit", "loco", "extract", "augment",
        "features")


def unit_folder(path: str) -> str:
    """A file's subpackage folder (``src/emoser/models/classical`` for the models' units); a module at
    the package's top, and a stage's entry point, is its own unit."""
    parts = Path(path).parts
    if parts[2] == "stages":          # a stage's own entry point (one stage per file: no stage imports another)
        return path
    depth = 4 if parts[2] == "models" and len(parts) > 4 else 3
    return path if len(parts) <= depth else "/".join(parts[:depth])


def deps(stage: str, module: str) -> list[str]:
    """The src/ deps ``stage`` should list: its subpackage folders, or, for a stage in ``FINE``, its files."""
    if stage.split("@")[0] in FINE:
        return shortest_deps(module)
    return sorted({unit_folder(f) for f in needed_files(module)})


def write_deps(dvc_yaml: Path = DVC_YAML) -> bool:
    """Rewrite every stage's src/ deps in ``dvc_yaml`` (kept: its data deps, in their order, and the
    file's layout); True when it changed. Each deps list is a one-line flow list ``deps: [...]``,
    continued on indented lines."""
    lines = dvc_yaml.read_text().split("\n")
    modules = stage_modules(dvc_yaml)
    for stage, module in modules.items():
        head = next(i for i, line in enumerate(lines) if line.split("#")[0].rstrip() == f"  {stage}:")
        first = next(i for i in range(head + 1, len(lines)) if lines[i].startswith("    deps: ["))
        last = next(i for i in range(first, len(lines)) if lines[i].split("#")[0].rstrip().endswith("]"))
        body = " ".join(line.split("#")[0].strip() for line in lines[first:last + 1])
        entries = [e.strip() for e in body.removeprefix("deps: [").rstrip("]").split(",") if e.strip()]
        items = [e for e in entries if not e.startswith("src/")] + deps(stage, module)
        lines[first:last + 1] = _flow("    deps: [", items)
    text = "\n".join(lines)
    if text == dvc_yaml.read_text():
        return False
    dvc_yaml.write_text(text)
    return True


def _flow(start: str, items: list[str], width: int = 118) -> list[str]:
    """``start`` + items as a flow list wrapped at ``width``."""
    out, line = [], start
    for i, item in enumerate(items):
        token = item + ("," if i < len(items) - 1 else "]")
        if len(line) + 1 + len(token) > width:
            out.append(line.rstrip())
            line = " " * len(start) + token
        else:
            line += ("" if line.endswith("[") else " ") + token
    return out + [line]


if __name__ == "__main__":
    if "--write" in sys.argv:
        for path in DVC_YAMLS:
            name = path.relative_to(REPO)
            print(f"{name}: deps rewritten" if write_deps(path) else f"{name}: deps already as written")
    elif "--deps" in sys.argv:
        for stage, module in stage_modules().items():
            print(f"{stage}: {', '.join(deps(stage, module))}")
    elif "--rerun" in sys.argv:
        for path, stages in rerun_table().items():
            print(f"{path}: {', '.join(stages)}")
    else:
        for stage, module in stage_modules().items():
            print(f"{stage}: {', '.join(needed_files(module))}")
