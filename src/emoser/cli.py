"""The ``emoser`` command: one entry for every stage and tool.

    emoser STAGE [--corpus NAME]                   # a pipeline stage as dvc.yaml runs it (emoser --help lists them)
    emoser predict [--model DIR] FILE...           # classify recordings
    emoser params [params.yaml]                    # check every section of a params file
    emoser review BASE [HEAD] [--out DIR]          # pull-request report: change or noise?
    emoser preset NAME [--record]                  # a named params preset as `dvc exp run` arguments

``python -m emoser.stages.<stage>`` and ``python -m emoser.serving.predict`` keep working; dvc.yaml uses
them. The command imports only the module it runs.
"""
from __future__ import annotations

import importlib
import pkgutil
import sys

import emoser.stages

# every module of emoser.stages is a stage's entry point (tests/test_entry_points.py: each dvc.yaml stage's)
STAGES = tuple(sorted(m.name for m in pkgutil.iter_modules(emoser.stages.__path__)))
TOOLS = {"predict": "emoser.serving.predict", "params": "emoser.params.file", "review": "emoser.reporting.review",
         "preset": "emoser.params.presets",
         "offline-plots": "emoser.reporting.offline_plots"}


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        print(f"\nstages: {' | '.join(STAGES)}")
        sys.exit(0 if argv else 2)
    command, rest = argv[0], argv[1:]
    if command in STAGES:
        importlib.import_module(f"emoser.stages.{command}").main(rest)
    elif command in TOOLS:
        importlib.import_module(TOOLS[command]).main(rest)
    else:
        print(f"emoser: unknown command {command!r}; choose from {', '.join([*STAGES, *TOOLS])}", file=sys.stderr)
        sys.exit(2)
