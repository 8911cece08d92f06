"""The house rules: each subpackage's docstring says what it may import (``May import: ...``), and
every module keeps to it. The allowed imports form no cycle, so the folders read as layers:

    core < corpora < params < compute < audio < features, protocols < evaluation
         < models.networks, models.classical < serving, reporting < tracking < stages, cli
"""
from __future__ import annotations

import ast
import re
from graphlib import TopologicalSorter

from conftest import REPO
from stage_deps import direct_imports

PACKAGE = REPO / "src" / "emoser"
# models holds two units that do not import each other
UNITS = ("core", "corpora", "params", "compute", "audio", "features", "protocols", "evaluation",
         "models.networks", "models.classical", "serving", "reporting", "tracking", "stages")


def _unit(module: str) -> str | None:
    parts = module.split(".")[1:]
    if not parts or parts[0] in ("cli", "__main__"):
        return None
    name = ".".join(parts[:2]) if parts[0] == "models" else parts[0]
    return name if name in UNITS else None


def _docstring(unit: str) -> str:
    return ast.get_docstring(ast.parse((PACKAGE.joinpath(*unit.split(".")) / "__init__.py").read_text())) or ""


def allowed() -> dict[str, set[str]]:
    """Unit -> the units it may import, read from its docstring's ``May import:`` line."""
    rules = {}
    for unit in UNITS:
        match = re.search(r"May import: (.+?)\.?$", _docstring(unit), re.MULTILINE)
        assert match, f"src/emoser/{unit.replace('.', '/')}/__init__.py: no 'May import:' line"
        text = match.group(1)
        if text == "nothing of emoser":
            rules[unit] = set()
        elif text == "any but another stage":
            rules[unit] = set(UNITS) - {unit}
        else:
            names = {n.strip() for n in text.split(",")}
            rules[unit] = {u for u in UNITS if u in names or u.split(".")[0] in names}
            unknown = names - {u.split(".")[0] for u in UNITS} - set(UNITS)
            assert not unknown, (unit, unknown)
    return rules


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(REPO / "src").with_suffix("")
        parts = list(rel.parts[:-1]) if rel.name == "__init__" else list(rel.parts)
        out.append(".".join(parts))
    return out


def test_every_subpackage_says_what_it_owns_and_may_import_in_under_200_bytes():
    # Under 200 bytes, a docstring-only __init__.py is no code a stage depends on (tools/stage_deps.py).
    for init in PACKAGE.rglob("__init__.py"):
        tree = ast.parse(init.read_text())
        assert ast.get_docstring(tree), init
        assert init.stat().st_size <= 200, (init, init.stat().st_size)
        if init.parent != PACKAGE:
            assert len(tree.body) == 1, f"{init}: a subpackage's __init__.py holds its docstring only"


def test_the_allowed_imports_form_layers_without_a_cycle():
    TopologicalSorter(allowed()).static_order()   # raises CycleError


def test_every_module_imports_only_what_its_subpackage_may():
    rules = allowed()
    problems = []
    for module in _modules():
        unit = _unit(module)
        if unit is None:
            continue
        for target in direct_imports(module):
            other = _unit(target)
            if other is None or other == unit:
                continue
            if other not in rules[unit]:
                problems.append(f"{module} imports {target}: {unit} may import {sorted(rules[unit]) or 'nothing'}")
    assert not problems, "\n".join(problems)


def test_no_module_sits_loose_beside_the_subpackages():
    loose = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert loose == ["__init__.py", "__main__.py", "cli.py"], loose


def test_every_params_section_has_its_own_schema_module():
    from emoser.core.config import SECTIONS

    schemas = {p.stem for p in (PACKAGE / "params").glob("*.py")}
    homes = {"model": "networks", "train": "networks", "architectures": "networks", "roles": "corpora",
             "embeddings": "compute"}
    assert {homes.get(s, s) for s in SECTIONS} <= schemas
