"""Named presets: params overrides kept as data in ``presets/NAME.yaml`` (dotted keys), for
``dvc exp run`` — the student report's own configuration is ``report``.

    dvc exp run $(emoser preset report)                          # prints `-S key=value` per override
    dvc exp run $(emoser preset report) -S split.protocol=leaky
    emoser preset report --record      # after such a run: presets/results/report-<split>.json

A preset is checked against the params schema before it is printed (a key that params.yaml does not
have, or a value it refuses, is one error naming the key). ``--record`` keeps the run's hold-out
figures (every variant: the named seed's UAR and interval, the seeds' mean and spread) in git; the
report shows them beside the defaults, labelled as a recorded run, not rebuilt by ``dvc repro``.
"""
from __future__ import annotations

import argparse
import copy
import json
from pathlib import Path
from typing import Any

import yaml

from emoser.core import paths
from emoser.core.config import DEFAULT_PARAMS, validate_raw
from emoser.core.errors import EmoserError
from emoser.core.files import write_json
from emoser.core.runtime import entry_point
from emoser.params.networks import VARIANTS

PRESETS, RESULTS = paths.PRESETS, paths.PRESET_RESULTS


def load_preset(name: str, folder: Path = PRESETS) -> dict[str, Any]:
    """``folder/NAME.yaml`` as {dotted key: value}."""
    path = folder / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in folder.glob("*.yaml"))
        raise EmoserError(f"no preset {name!r} ({path} does not exist; presets: {', '.join(known) or 'none'})")
    overrides = yaml.safe_load(path.read_text())
    if not isinstance(overrides, dict) or not all(isinstance(k, str) and "." in k for k in overrides):
        raise EmoserError(f"{path}: not a mapping of dotted params keys (section.key: value)")
    return overrides


def apply(params: dict, overrides: dict[str, Any], source: str = "preset") -> dict:
    """``params`` (params.yaml as loaded) with each dotted key replaced; a key params.yaml lacks is an error."""
    changed = copy.deepcopy(params)
    for key, value in overrides.items():
        node: Any = changed
        *sections, last = key.split(".")
        for section in sections:
            node = node.get(section) if isinstance(node, dict) else None
        if not isinstance(node, dict) or last not in node:
            raise EmoserError(f"{source}: {key}: params.yaml has no such key")
        node[last] = value
    return changed


def set_args(overrides: dict[str, Any]) -> list[str]:
    """``dvc exp run`` arguments: ``-S key=value`` per override (lists without spaces, for the shell)."""
    args = []
    for key, value in overrides.items():
        text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
        args += ["-S", f"{key}={text}"]
    return args


def _value(params: dict, key: str) -> Any:
    node: Any = params
    for part in key.split("."):
        node = node[part]
    return node


def record(name: str, overrides: dict[str, Any], params: dict, metrics: Path = paths.METRICS,
           out: Path = RESULTS) -> Path:
    """The workspace's hold-out figures of every variant, as a run of preset NAME (its params must be
    in effect) -> out/NAME-<split protocol>.json."""
    for key, value in overrides.items():
        if _value(params, key) != value:
            raise EmoserError(f"preset {name}: the workspace's params.yaml has {key} = {_value(params, key)!r}, "
                              f"not {value!r}: run `dvc exp run $(emoser preset {name})` first")
    variants = {}
    for variant in VARIANTS:
        path = metrics / "study" / f"{variant}.json"
        if not path.is_file():
            raise EmoserError(f"preset {name}: {path} is missing: run the preset's experiment first")
        m = json.loads(path.read_text())
        replicates = m.get("replicates") or {}
        variants[variant] = {"uar": m["uar"], "uar_ci": m["uar_ci"], "accuracy": m["accuracy"],
                             "test_size": m["test_size"], "leaky": m["leaky"],
                             **{k: replicates[k] for k in ("seeds", "uar_mean", "uar_std", "accuracy_mean",
                                                           "accuracy_std") if k in replicates}}
    protocol = params["split"]["protocol"]
    result = {"preset": name, "overrides": overrides, "split_protocol": protocol, "variants": variants}
    path = out / f"{name}-{protocol}.json"
    write_json(path, result)
    return path


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="emoser preset", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", help="a preset in presets/ (e.g. report)")
    parser.add_argument("--record", action="store_true",
                        help="keep this workspace's hold-out figures as the preset's run (presets/results/)")
    args = parser.parse_args(argv)
    overrides = load_preset(args.name)
    params = yaml.safe_load(DEFAULT_PARAMS.read_text())
    from emoser.params.file import Params  # the whole schema: a preset must make valid params

    source = f"{PRESETS / args.name}.yaml"
    validate_raw(Params, apply(params, overrides, source), f"params.yaml with {source}")
    if args.record:
        print(f"wrote {record(args.name, overrides, params)}")
    else:
        print(" ".join(set_args(overrides)))


if __name__ == "__main__":
    main()
