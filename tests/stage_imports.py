"""The project files each dvc.yaml stage imports, read from the source (ast); nothing is run.

    python tests/stage_imports.py            # per stage: the src/ deps dvc.yaml must list
    python tests/stage_imports.py --rerun    # per module: the stages that rerun when it changes
    python tests/stage_imports.py --deps     # per stage: the shortest deps list (whole folders where it can)

Every import counts, also one inside a function (it runs when that code path does). A package's
``__init__.py`` counts when it holds code (over 200 bytes, as ../shared/tools/stage_deps.py reads it).
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
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


def stage_modules(dvc_yaml: Path = REPO / "dvc.yaml") -> dict[str, str]:
    """Stage name -> the module its cmd runs (``python -m emoser.stages.NAME``)."""
    stages = yaml.safe_load(dvc_yaml.read_text())["stages"]
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


def shortest_deps(module: str) -> list[str]:
    """``needed_files`` written as dvc.yaml should list them: a whole folder where the stage needs every
    file in it (and in its sub-folders), else the files one by one."""
    needed = set(needed_files(module))
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
    """Module file -> the stages whose deps include it."""
    table: dict[str, list[str]] = {}
    for stage, module in stage_modules().items():
        for path in needed_files(module):
            table.setdefault(path, []).append(stage)
    return dict(sorted(table.items()))


if __name__ == "__main__":
    if "--deps" in sys.argv:
        for stage, module in stage_modules().items():
            print(f"{stage}: {', '.join(shortest_deps(module))}")
    elif "--rerun" in sys.argv:
        for path, stages in rerun_table().items():
            print(f"{path}: {', '.join(stages)}")
    else:
        for stage, module in stage_modules().items():
            print(f"{stage}: {', '.join(needed_files(module))}")
