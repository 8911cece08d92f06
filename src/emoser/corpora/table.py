"""A corpus the user describes in a table (layout ``csv``): a UTF-8, comma-separated file with
columns ``file``, ``emotion``, ``speaker`` and any others (kept in the manifest as they are).

``file`` is an audio file soundfile reads (.wav, .flac, .ogg, ...), relative to the table's folder or
absolute. Each recording is copied into wav/ under a flat name: its path with ``/`` as ``__``
(``ang/s01_1.wav`` -> ``ang__s01_1.wav``). Every value is read as text (speaker "03" stays "03").
Errors name the table, the line (the header is line 1) and the cell or column.
"""
from __future__ import annotations

import csv
import hashlib
import io
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from emoser.core.errors import EmoserError

if TYPE_CHECKING:   # pandas where used: stage sources, run by every `dvc repro`, reads a table only for layout csv
    import pandas as pd

REQUIRED = ("file", "emotion", "speaker")


@dataclass(frozen=True)
class Table:
    """The rows of a checked table, with where each one's audio is and goes."""

    rows: pd.DataFrame          # the table's columns as text: file, emotion, speaker (trimmed), then the rest
    lines: tuple[int, ...]      # each row's line in the file
    paths: tuple[Path, ...]     # each row's audio file
    names: tuple[str, ...]      # each row's flat name under wav/

    def where(self, i: int) -> str:
        """Row ``i`` as the user finds it: its file as written and its line."""
        return f"{self.rows['file'].iloc[i]} (line {self.lines[i]})"


def decode(raw: bytes, source: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EmoserError(f"{source}: not a UTF-8 CSV table (byte 0x{raw[exc.start]:02x} at offset {exc.start} "
                          "is not UTF-8; save the table as UTF-8)") from None
    if "\x00" in text:
        raise EmoserError(f"{source}: not a CSV table (it holds NUL bytes: a binary file?)")
    return text


def parse_rows(text: str, source: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header and the (line, cells) of each non-blank row; errors name the line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if cells and any(c.strip() for c in cells):
                if header is None:
                    header = [c.strip() for c in cells]
                else:
                    if len(cells) != len(header):
                        raise EmoserError(f"{source}, line {line}: {len(cells)} fields, the header has "
                                          f"{len(header)} (a comma-separated table)")
                    rows.append((line, cells))
            line = reader.line_num + 1
    except csv.Error as exc:
        raise EmoserError(f"{source}, line {reader.line_num}: not a readable CSV table ({exc})") from None
    if header is None:
        raise EmoserError(f"{source}: empty table (expected a header: {', '.join(REQUIRED)}, ...)")
    return header, rows


def check_header(header: list[str], source: str, reserved: Collection[str]) -> None:
    for i, name in enumerate(header, start=1):
        if not name:
            raise EmoserError(f"{source}: column {i} of the header has no name (a trailing comma?)")
        if header.index(name) != i - 1:
            raise EmoserError(f"{source}: column {name!r} is in the header twice")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise EmoserError(f"{source}: no column {', '.join(map(repr, missing))} (required: {', '.join(REQUIRED)}; "
                          f"found: {', '.join(header)}; a comma-separated table)")
    taken = [c for c in header if c in reserved]
    if taken:
        raise EmoserError(f"{source}: column {taken[0]!r} is one fetch computes ({', '.join(sorted(reserved))}); "
                          "rename it in the table")


MAX_NAME_BYTES = 255   # a file name's limit on the file systems here (ext4, xfs, APFS, NTFS)


def flat_name(written: str, base: Path) -> tuple[Path, str]:
    """The audio file a ``file`` cell names (relative to ``base``, the table's folder) and its flat
    name under wav/: the path from ``base`` (or, outside it, the whole path) with ``/`` as ``__``.
    A name over MAX_NAME_BYTES (deep or long absolute paths) keeps its last parts that fit, after a
    hash of the whole: still one name per path, and a legal file name."""
    path = Path(os.path.normpath(base / written.replace("\\", "/")))
    root = Path(os.path.normpath(base))
    inside = path.is_relative_to(root)
    parts = path.relative_to(root).parts if inside else PurePosixPath(path.as_posix()).parts[1:]
    name = "__".join(parts)
    if len(name.encode()) <= MAX_NAME_BYTES:
        return path, name
    digest = hashlib.sha256(name.encode()).hexdigest()[:12]
    kept: list[str] = []
    for part in reversed(parts):
        candidate = "__".join([digest, part, *kept])
        if len(candidate.encode()) > MAX_NAME_BYTES:
            break
        kept.insert(0, part)
    if not kept:   # a single part over the limit: its end, with its extension
        tail = parts[-1].encode()[-(MAX_NAME_BYTES - len(digest) - 2):].decode(errors="ignore")
        kept = [tail]
    return path, "__".join([digest, *kept])


def read_table(path: Path, source: str, reserved: Collection[str] = ()) -> Table:
    """Read and check the table at ``path`` (``source``: as the user named it); columns in ``reserved``
    are the manifest's own and may not be in the table."""
    header, cells = parse_rows(decode(path.read_bytes(), source), source)
    check_header(header, source, reserved)
    if not cells:
        raise EmoserError(f"{source}: empty table (a header, no rows)")
    import pandas as pd

    rows = pd.DataFrame([row for _, row in cells], columns=header, dtype=str)
    lines = tuple(line for line, _ in cells)
    for column in REQUIRED:
        rows[column] = rows[column].str.strip()
        empty = rows.index[rows[column] == ""]
        if len(empty):
            raise EmoserError(f"{source}, line {lines[empty[0]]}: empty {column} cell")
    rows = rows[list(REQUIRED) + [c for c in header if c not in REQUIRED]]
    base = path.parent.absolute()
    paths, names = zip(*(flat_name(written, base) for written in rows["file"]))
    check_unique(rows["file"].tolist(), names, lines, source)
    return Table(rows, lines, tuple(paths), tuple(names))


def check_unique(written: list[str], names: tuple[str, ...], lines: tuple[int, ...], source: str) -> None:
    """Each recording once: no file twice, and no two files to one flat name or one utterance."""
    seen: dict[str, int] = {}
    utterances: dict[str, int] = {}
    for i, name in enumerate(names):
        if name in seen:
            j = seen[name]
            if written[i] == written[j]:
                raise EmoserError(f"{source}: file {written[i]!r} is on line {lines[j]} and line {lines[i]}; "
                                  "name each recording once")
            raise EmoserError(f"{source}: line {lines[j]} ({written[j]!r}) and line {lines[i]} ({written[i]!r}) "
                              f"are one recording (wav/{name}); name each recording once")
        seen[name] = i
        stem = PurePosixPath(name).stem
        if stem in utterances:
            j = utterances[stem]
            raise EmoserError(f"{source}: line {lines[j]} ({written[j]!r}) and line {lines[i]} ({written[i]!r}) "
                              f"would both be utterance {stem!r}; their names must differ beyond the extension")
        utterances[stem] = i
