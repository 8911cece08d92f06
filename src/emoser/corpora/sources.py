"""What a corpus's source holds now, as data DVC can see (stage sources).

A source is a URL, a local zip, a local folder, or (layout csv) a local table. DVC sees params, not what
a path in them points at: edit your ``labels.csv``, or replace a recording under the same name, and
fetch's deps would not change. Stage sources (``always_changed``: DVC runs it every time; it is cheap)
writes one small JSON per corpus with the sha256 of every file the source holds, and fetch@NAME depends
on it: an edit changes that file, fetch reruns, and what fetch then writes decides what else reruns
(nothing, when the edit does not change the corpus as fetched). A URL is pinned by its params
(``source``, ``sha256``); nothing is downloaded to describe it.

Hashing every file each time costs ~0.9 s for the three corpora here (3,247 files, 158 MB);
``StatCache`` keeps each file's hash under its (size, mtime, inode) in ``data/.sources-state.json``
(not an output: a cache of this machine, rebuilt when missing), so an unchanged source is read only
once. Hand-written: DVC's own state database does the same for its deps, but the source is not one
(a templated dep would be a URL for the default params, and DVC would go online to check it).
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from emoser.core.files import atomic_path, write_json
from emoser.corpora.layouts import TABLE_RESERVED, get_layout
from emoser.corpora.table import read_table

SOURCES = Path("data") / "sources"       # NAME.json per corpus: fetch@NAME's dep (dvc.yaml names the same)
STATE = Path("data") / ".sources-state.json"


def is_url(source: str) -> bool:
    """Whether a corpus's ``source`` is fetched over HTTP(S) (else it is a local path)."""
    return source.startswith(("http://", "https://"))


class StatCache:
    """sha256 of files, reused while a file's size, mtime and inode are the same."""

    def __init__(self, path: Path = STATE):
        self.path = path
        try:
            self.known: dict[str, list] = json.loads(path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.seen: dict[str, list] = {}

    def sha256(self, path: Path) -> str:
        key = str(path.resolve())
        info = path.stat()
        facts = [info.st_size, info.st_mtime_ns, info.st_ino]
        old = self.known.get(key)
        if old is not None and old[:3] == facts:
            digest = old[3]
        else:
            with open(path, "rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
        self.seen[key] = [*facts, digest]
        return digest

    def save(self) -> None:
        """Keep what this run saw (files no longer in any source drop out)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(self.path) as tmp:
            tmp.write_text(json.dumps(self.seen, sort_keys=True))


def _visible_files(folder: Path) -> list[Path]:
    """Every file under ``folder``, sorted, hidden ones (a name starting with '.') and their folders left
    out (.DS_Store, .git): fetch reads no hidden file."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [Path(root) / f for f in sorted(files) if not f.startswith(".")]
    return found


def _table_files(path: Path, layout: str) -> list[Path]:
    """A table source: the table and the recordings it names (that exist: fetch says which are missing)."""
    try:
        kind = get_layout(layout)
        if kind.row is not None:
            return [path]
        table = read_table(path, str(path), reserved=TABLE_RESERVED)
    except Exception:   # noqa: BLE001 — a table fetch cannot read: fetch reruns and says why, in its words
        return [path]
    return [path, *(p for p in table.paths if p.is_file())]


def describe(source: str, layout: str, cache: StatCache) -> dict:
    """What ``source`` holds now: {"source", "kind", "files": {relative path: sha256}} for a local one; a
    URL (or a path that does not exist: fetch will say so) is described by its name alone."""
    if is_url(source):
        return {"source": source, "kind": "url"}
    path = Path(source).expanduser()
    if path.is_dir():
        kind, base, files = "folder", path, _visible_files(path)
    elif path.is_file():
        kind, base = "file", path.parent
        files = _table_files(path, layout) if path.suffix.lower() != ".zip" else [path]
    else:
        return {"source": source, "kind": "missing"}
    listed = {}
    for file in files:
        try:
            name = file.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            name = str(file.resolve())
        listed[name] = cache.sha256(file)
    return {"source": source, "kind": kind, "files": listed}


def write_descriptions(corpora: dict[str, tuple[str, str]], out_dir: Path, cache: StatCache | None = None) -> None:
    """``out_dir``/NAME.json for each corpus NAME -> (source, layout); nothing else stays in ``out_dir``."""
    cache = cache or StatCache()
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.stem not in corpora:
            stale.unlink()
    for name, (source, layout) in corpora.items():
        write_json(out_dir / f"{name}.json", describe(source, layout, cache))
    cache.save()
