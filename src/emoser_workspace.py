"""A DVC stage runs the code of its own workspace: imported when Python starts, by the
``emoser_workspace.pth`` that setup.sh writes beside the editable install's.

setup.sh installs emoser in editable mode, so ``import emoser`` finds the tree it was installed from.
A stage's ``python -m emoser.stages.NAME`` in any other workspace of the project — a second clone, or
the temporary workspaces of ``dvc exp run --temp`` and ``dvc queue`` (.dvc/tmp/exps/) — would then run
that tree's code while its dvc.lock records the hashes of its own ``src``: a queued experiment would run
whatever the main workspace holds when it starts, edits included. DVC names the running stage in every
stage command's environment (``DVC_STAGE``) and runs it in its workspace (every stage here runs at the
root: ``wdir``); where that workspace (the nearest folder up with a ``.dvc`` folder) holds this project's
source, its ``src`` goes first on ``sys.path``, as ``PYTHONPATH=src`` would put it; the Python processes the
stage starts (training workers) inherit ``DVC_STAGE`` and the working directory, so they find the same.
(Not ``DVC_ROOT``: for a queued or temporary experiment DVC sets it to the
workspace the experiment came from.) Anywhere else (no stage running, or a DVC project without
``src/emoser``) nothing changes.

Not part of the ``emoser`` package, and imported by no stage: it picks which tree runs, not what the
code does, so it is in no stage's deps.
"""
from __future__ import annotations

import os
import sys
from collections.abc import Mapping, MutableSequence


def workspace_source(environ: Mapping[str, str], cwd: str) -> str | None:
    """The ``src`` folder of the DVC workspace running a stage in ``cwd``, where it holds the emoser package."""
    if not environ.get("DVC_STAGE"):
        return None
    folder = os.path.abspath(cwd)
    while not os.path.isdir(os.path.join(folder, ".dvc")):
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent
    source = os.path.join(folder, "src")
    return source if os.path.isfile(os.path.join(source, "emoser", "__init__.py")) else None


def use_workspace_source(environ: Mapping[str, str] = os.environ, path: MutableSequence[str] = sys.path,
                         cwd: str | None = None) -> str | None:
    """Put the running stage's workspace ``src`` first on ``path``; the folder, or None where there is none."""
    source = workspace_source(environ, os.getcwd() if cwd is None else cwd)
    if source is not None and (not path or path[0] != source):
        path.insert(0, source)
    return source


use_workspace_source()
