"""Reading and writing the pipeline's files: recordings and tables read with clear errors, and
writes that never leave a half-written output (write to a temp name, then rename)."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from emoser.core.errors import EmoserError
from emoser.core.runtime import UMASK as _UMASK

if TYPE_CHECKING:
    import pandas as pd


@contextlib.contextmanager
def atomic_path(path: Path | str):
    """Yield a temp path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600; outputs should read like any other file
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def clear_stale(path: Path) -> None:
    """Remove temp outputs that a killed run of the same stage left beside ``path``.

    DVC holds a repository lock while a stage runs, so no live run owns them.
    """
    for stale in path.parent.glob(f".{path.name}.*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_dir(path: Path | str):
    """Yield a temp folder beside ``path``; it replaces ``path`` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clear_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    os.chmod(tmp, 0o777 & ~_UMASK)
    try:
        yield tmp
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def write_json(path: Path | str, data) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")


def write_csv(path: Path | str, table: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        table.to_csv(tmp, index=False)


def read_csv(source, **options) -> pd.DataFrame:
    """``pandas.read_csv`` with this project's one rule for tables: only an empty cell is missing. A label,
    speaker or utterance called "NA", "None", "null", "nan" or "N/A" stays that text (pandas' defaults
    read them as missing values, and the recordings would vanish from their emotion)."""
    import pandas as pd  # here, not at the top: stage sources, run by every `dvc repro`, reads no table (0.5 s)

    return pd.read_csv(source, keep_default_na=False, na_values=[""], **options)


def _read_table(path: Path, **dtypes) -> pd.DataFrame:
    try:
        return read_csv(path, dtype=dtypes or None)
    except FileNotFoundError:
        raise EmoserError(f"{path}: not found; run the stage that writes it (dvc repro)") from None


def read_manifest(path: Path) -> pd.DataFrame:
    """One row per original recording (stage fetch); speaker ids stay strings ("03")."""
    return _read_table(path, speaker=str)


def read_clips(path: Path) -> pd.DataFrame:
    """One row per clip, originals and copies (stage augment)."""
    return _read_table(path, speaker=str)


def read_split(path: Path) -> pd.DataFrame:
    """clip -> train / val / test / unused under the hold-out protocol (stage split)."""
    return _read_table(path)


def read_folds(path: Path) -> pd.DataFrame:
    """(protocol, fold, clip) -> subset for every cross-validation protocol (stage folds)."""
    return _read_table(path, fold=str)


def read_weights(path: Path) -> pd.DataFrame:
    """(model, protocol, fold) -> each view's fusion weight, as stage ours chose them."""
    return _read_table(path, fold=str)


def original_recordings(path: Path) -> tuple[pd.DataFrame, list[Path]]:
    """The manifest and each recording's wav file, absolute (workers may run elsewhere: emoser.compute.backend)."""
    manifest = read_manifest(path)
    return manifest, [(path.parent / "wav" / name).resolve() for name in manifest["file"]]
