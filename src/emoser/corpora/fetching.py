"""Getting a corpus (its official URL, a local zip or folder; for layout csv a table): a safe download
and extraction, every recording checked, the label map applied, and the manifest (stage fetch).

What the output holds, and the layouts: emoser.corpora.layouts."""
from __future__ import annotations

import hashlib
import logging
import shutil
import stat
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import soundfile as sf
import urllib3
from tqdm import tqdm
from urllib3.util import Retry

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir, atomic_path, write_json
from emoser.corpora.emodb import LISTENER_TEST, read_listener_test
from emoser.corpora.emodb import archive_member as _wanted_member
from emoser.corpora.layouts import (
    TABLE_RESERVED,
    Layout,
    check_label_map,
    check_manifest,
    get_layout,
    map_labels,
    relabel,
)
from emoser.corpora.sources import is_url
from emoser.corpora.table import Table, read_table

log = logging.getLogger(__name__)

MIN_DURATION_S = 0.2          # shorter recordings cannot be featurised (the features stage would fail)
_CHUNK = 1 << 20
_WORK = ".fetch-work."        # the working folder beside the corpus's raw/; a killed run's is removed by the next


# Retried: failing to connect, a read timeout before the body, and a busy or failing server (5xx, 429,
# honouring its Retry-After), 3 times with 1, 2, 4 s back-off. Not retried: a body that breaks off
# (an error naming how much came; the next `dvc repro` starts over) and a 4xx answer.
RETRIES = Retry(total=3, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504), allowed_methods={"GET"})


def download(url: str, dest: Path, timeout_s: float, max_bytes: int, retries: Retry = RETRIES) -> None:
    """Stream ``url`` to ``dest`` with a progress bar; ``dest`` appears only when complete."""
    pool = urllib3.PoolManager(retries=retries, timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s))
    try:
        response = pool.request("GET", url, preload_content=False)
    except urllib3.exceptions.HTTPError as exc:   # retries used up: the last reason
        raise EmoserError(f"cannot download {url}: {getattr(exc, 'reason', None) or exc}") from None
    if response.status >= 400:
        response.release_conn()
        raise EmoserError(f"cannot download {url}: HTTP {response.status} {response.reason}")
    with atomic_path(dest) as tmp:
        length = response.headers.get("Content-Length")
        expected = int(length) if length and length.isdigit() else None
        if expected is not None and expected > max_bytes:
            raise EmoserError(f"{url}: archive is {expected} bytes, over fetch.max_archive_mb")
        received = 0
        with open(tmp, "wb") as out, tqdm(
            total=expected, unit="B", unit_scale=True, desc="download", disable=None
        ) as bar:
            while True:
                try:
                    chunk = response.read(_CHUNK)
                except (OSError, urllib3.exceptions.HTTPError) as exc:
                    why = f"{type(exc).__name__}: {exc.args[0]}" if exc.args else type(exc).__name__
                    raise EmoserError(f"download of {url} broke off after {received} bytes: {why}") from None
                if not chunk:
                    break
                received += len(chunk)
                if received > max_bytes:
                    raise EmoserError(f"{url}: more than fetch.max_archive_mb received; refusing")
                out.write(chunk)
                bar.update(len(chunk))
        response.release_conn()
        if expected is not None and received != expected:
            raise EmoserError(
                f"download of {url} was cut off: got {received} of {expected} bytes; nothing was kept"
            )


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


# stored, deflate, bzip2, lzma: what zipfile unpacks (not AES, deflate64, zstd, ...)
READABLE_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA)


def safe_extract(archive: Path, dest: Path, max_bytes: int, label: str | None = None,
                 member: Callable[[str], str | None] = _wanted_member) -> None:
    """Extract the corpus files of a zip (``member``: a member's place in ``dest``, None to leave it
    out; Emo-DB's by default), refusing anything that could write outside ``dest``; errors name
    ``label`` (the URL or path the user gave), never a temp file."""
    label = label or str(archive)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise EmoserError(f"{label}: not a readable zip archive ({exc})") from None
    with zf:
        members = zf.infolist()
        for info in members:
            name = info.filename
            path = PurePosixPath(name.replace("\\", "/"))
            if path.is_absolute() or name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
                raise EmoserError(f"{label}: member {name!r} has an absolute path; refusing the archive")
            if ".." in path.parts:
                raise EmoserError(f"{label}: member {name!r} points outside the archive ('..'); refusing it")
            if stat.S_ISLNK(info.external_attr >> 16):
                raise EmoserError(f"{label}: member {name!r} is a symbolic link; refusing the archive")
            if info.flag_bits & 0x1:
                raise EmoserError(f"{label}: member {name!r} is encrypted; unpack the archive yourself and "
                                  "point source at the folder")
            if info.compress_type not in READABLE_COMPRESSION:
                raise EmoserError(f"{label}: member {name!r} is compressed with method {info.compress_type}, which "
                                  "Python's zip reader cannot unpack; unpack the archive yourself and point source "
                                  "at the folder")
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            largest = max(members, key=lambda info: info.file_size)
            raise EmoserError(
                f"{label}: would unpack to {declared / 2**20:.0f} MiB (largest member {largest.filename!r}: "
                f"{largest.file_size / 2**20:.0f} MiB), over fetch.max_archive_mb "
                f"({max_bytes / 2**20:.0f} MiB); refusing a possible decompression bomb"
            )
        written = 0
        taken: dict[str, str] = {}
        for info in members:
            target = None if info.is_dir() else member(info.filename)
            if target is None:
                continue
            if target in taken:
                raise EmoserError(f"{label}: members {taken[target]!r} and {info.filename!r} are both {target}; "
                                  "refusing the archive")
            taken[target] = info.filename
            out_path = dest / target
            out_path.parent.mkdir(parents=True, exist_ok=True)
            # Count real bytes: a forged header must not let a bomb through.
            try:
                with zf.open(info) as src, open(out_path, "wb") as out:
                    for chunk in iter(lambda: src.read(_CHUNK), b""):
                        written += len(chunk)
                        if written > max_bytes:
                            raise EmoserError(f"{label}: unpacks past fetch.max_archive_mb; refusing it")
                        out.write(chunk)
            except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
                raise EmoserError(f"{label}: member {info.filename!r} is corrupt ({exc}); nothing was kept") from None


def check_wav(path: Path, shown: str | None = None) -> dict:
    """Read one wav fully; return its sample rate, channels, duration; raise naming the file as
    ``shown`` (the archive member or source file the user knows)."""
    shown = shown or str(path)
    if path.stat().st_size == 0:
        raise EmoserError(f"{shown}: empty file")
    try:
        audio, sample_rate = sf.read(path, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise EmoserError(f"{shown}: not readable audio ({str(exc).replace(str(path), path.name)})") from None
    if audio.shape[0] == 0:
        raise EmoserError(f"{shown}: holds no audio samples")
    if not np.isfinite(audio).all():
        raise EmoserError(f"{shown}: holds NaN or infinite samples")
    if not np.any(audio):
        raise EmoserError(f"{shown}: is pure silence")
    if audio.shape[0] / sample_rate < MIN_DURATION_S:
        raise EmoserError(f"{shown}: {audio.shape[0] / sample_rate:.3f} s long; recordings under "
                          f"{MIN_DURATION_S} s cannot be featurised")
    return {"sample_rate": int(sample_rate), "channels": int(audio.shape[1]),
            "duration": round(audio.shape[0] / sample_rate, 4), "content": audio_key(audio, int(sample_rate))}


def audio_key(audio: np.ndarray, sample_rate: int) -> str:
    """The same audio's key: sha256 of its samples (float32, as read) and rate, so a wav and a FLAC of one
    recording match, and a recording saved under two names is found (issue: leak by copy)."""
    digest = hashlib.sha256(np.ascontiguousarray(audio, dtype=np.float32).tobytes())
    digest.update(str(sample_rate).encode())
    return digest.hexdigest()


def duplicates(manifest: pd.DataFrame, source: str) -> list[list[str]]:
    """Groups of recordings holding the same audio (manifest ``content``), each sorted; the folds and the
    split keep each group on one side. The same audio under two labels is an error naming both."""
    groups = []
    for _, part in manifest.groupby("content", sort=False):
        if len(part) < 2:
            continue
        if part["emotion"].nunique() > 1:
            shown = ", ".join(f"{f} ({e})" for f, e in zip(part["file"], part["emotion"]))
            raise EmoserError(f"{source}: the same audio carries different emotions: {shown}; "
                              "label it once (or drop one copy)")
        groups.append(sorted(part["file"]))
    return sorted(groups)


def build_manifest(corpus: Path, origin: str | None = None, layout: str = "emodb") -> tuple[pd.DataFrame, list[dict]]:
    """Check every file under wav/ of a corpus folder in a layout of named files (emodb, ravdess);
    return the manifest (``emotion``: the layout's own labels) and the skipped files. Errors name
    files as ``origin: wav/NAME`` when the folder is a copy of what the user gave."""
    kind = get_layout(layout)
    if kind.row is None:
        raise EmoserError(f"layout {layout!r} names its recordings in a table, not by file name")
    wav_dir = corpus / "wav"
    if not wav_dir.is_dir():
        raise EmoserError(f"{origin or corpus}: no {kind.what} found (expected {kind.example})")
    listener = None
    if kind.listener_test and (corpus / LISTENER_TEST).is_file():
        listener = read_listener_test(corpus / LISTENER_TEST).set_index("file")
    rows, skipped = [], []
    for path in sorted(wav_dir.iterdir()):
        if not path.is_file():
            log.warning("skipping wav/%s: not a file", path.name)
            skipped.append({"file": path.name, "reason": "not a file"})
            continue
        try:
            facts = kind.row(path.name)
        except ValueError as exc:
            log.warning("skipping %s", exc)
            skipped.append({"file": path.name, "reason": str(exc)})
            continue
        row = {**facts, **check_wav(path, f"{origin}: wav/{path.name}" if origin else None)}
        if listener is not None and path.name in listener.index:
            row["recognition"] = float(listener.at[path.name, "recognition"])
            row["naturalness"] = float(listener.at[path.name, "naturalness"])
        rows.append(row)
    if not rows:
        raise EmoserError(f"{origin + ': wav/' if origin else wav_dir}: no {kind.what} found")
    manifest = pd.DataFrame(rows)
    if kind.listener_test:
        for column in ("recognition", "naturalness"):
            if column not in manifest:
                manifest[column] = np.nan
    missing = [e for e in kind.labels or () if e not in set(manifest["emotion"])]
    if kind.every_label and missing:
        raise EmoserError(f"{origin + ': wav/' if origin else wav_dir}: no utterances of emotion(s) {missing}; "
                          "every class is needed")
    return manifest, skipped


def clear_stale_work(parent: Path) -> None:
    """Remove working folders that a killed fetch left beside the corpus's raw/ (DVC holds the repository
    lock while a stage runs, so no live run owns them); also the unnamed ones older versions left."""
    stale = [*parent.glob(f"{_WORK}*.tmp"),
             *(d for d in parent.glob("tmp*") if d.is_dir() and any(d.glob(".download.zip.*.tmp")))]
    for folder in stale:
        log.info("removing %s, left by a killed run", folder)
        shutil.rmtree(folder, ignore_errors=True)


def fetch(source: str, out_dir: Path, *, layout: str = "emodb", labels: Mapping[str, str | None] | None = None,
          sha256: str | None, timeout_s: float, max_bytes: int) -> dict:
    """Fetch and check the corpus from ``source`` in ``layout`` into ``out_dir`` (replaced only on
    success), its labels mapped by ``labels``; return the report (also written as fetch_report.json)."""
    kind = get_layout(layout)
    label_map = check_label_map(labels, kind)
    clear_stale_work(out_dir.parent)
    with atomic_dir(out_dir) as staging, tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=_WORK,
                                                                     suffix=".tmp") as work_dir:
        if kind.row is None:
            manifest, skipped = copy_table(source, staging, kind, label_map, sha256)
        else:
            stage_files(source, staging, Path(work_dir), kind, sha256, timeout_s, max_bytes)
            manifest, skipped = build_manifest(staging, origin=source, layout=kind.name)
            # Unknown names are skipped, not deleted from disk silently: drop them from the output.
            remove_from_wav(staging, [item["file"] for item in skipped])
        kept, mapped = relabel(manifest, kind, label_map, source)
        remove_from_wav(staging, sorted(set(manifest["file"]) - set(kept["file"])))
        if mapped.dropped:
            log.info("dropped by the label map: %s", ", ".join(f"{k} ({n})" for k, n in mapped.dropped.items()))
        order = check_manifest(kept, source)
        same = duplicates(kept, source)
        for group in same:
            log.warning("the same audio under %d names: %s (kept on one side of every split and fold)",
                        len(group), ", ".join(group))
        kept.to_csv(staging / "manifest.csv", index=False)
        report = {**fetch_report(kept, source, skipped, order), "duplicates": same}
        if not kind.first_report:
            report.update(layout=kind.name, dropped=mapped.dropped)
        write_json(staging / "fetch_report.json", report)
    return report


def fetch_report(manifest: pd.DataFrame, source: str, skipped: list[dict], order: tuple[str, ...]) -> dict:
    listener = "recognition" in manifest and pd.to_numeric(manifest["recognition"], errors="coerce").notna().any()
    return {
        "source": source,
        "utterances": len(manifest),
        "skipped": len(skipped),
        "skipped_files": skipped,
        "speakers": int(manifest["speaker"].nunique()),
        "sample_rates": sorted(int(s) for s in manifest["sample_rate"].unique()),
        "per_emotion": {e: int((manifest["emotion"] == e).sum()) for e in order},
        "listener_test": bool(listener),
    }


def remove_from_wav(corpus: Path, files: list[str]) -> None:
    for name in files:
        path = corpus / "wav" / name
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def stage_files(source: str, staging: Path, work: Path, kind: Layout, sha256: str | None, timeout_s: float,
                max_bytes: int) -> None:
    """Put the corpus's files from ``source`` (a URL, a zip or a folder) into ``staging`` in its
    layout's places (wav/, and Emo-DB's listener test)."""
    local = Path(source).expanduser()
    archive: Path | None
    if is_url(source):
        archive = work / "download.zip"
        log.info("downloading %s", source)
        download(source, archive, timeout_s, max_bytes)
    elif local.is_file():
        archive = local
    elif local.is_dir():
        archive = None
    else:
        raise EmoserError(f"fetch.source {source!r}: no such file or folder, and not an http(s) URL")
    assert kind.member is not None
    if archive is not None:
        if sha256:
            actual = sha256_of(archive)
            if actual != sha256.lower():
                raise EmoserError(f"{source}: sha256 is {actual}, fetch.sha256 says {sha256}")
        safe_extract(archive, staging, max_bytes, label=source, member=kind.member)
    elif sha256:
        raise EmoserError("fetch.sha256 applies to an archive; fetch.source is a folder")
    elif kind.copy_folder is not None:
        kind.copy_folder(local, staging, source)
    else:
        copy_folder(local, staging, kind, source)


def copy_folder(local: Path, staging: Path, kind: Layout, source: str) -> None:
    """Copy a folder in the layout of the corpus's archive: each file goes where ``kind.member``
    puts the same path as an archive member."""
    assert kind.member is not None
    taken: dict[str, str] = {}
    for path in sorted(local.rglob("*")):
        relative = path.relative_to(local).as_posix()
        target = kind.member(relative) if path.is_file() else None
        if target is None:
            continue
        if target in taken:
            raise EmoserError(f"fetch.source {source!r}: {taken[target]} and {relative} are both {target}; "
                              "a corpus names each recording once")
        taken[target] = relative
        (staging / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, staging / target)
    if not taken:
        raise EmoserError(f"fetch.source {source!r}: no {kind.what} in it (expected {kind.example})")


def copy_table(source: str, staging: Path, kind: Layout, label_map: dict[str, str | None],
               sha256: str | None) -> tuple[pd.DataFrame, list[dict]]:
    """Layout csv: check the table at ``source`` and every recording it names, copy them into
    wav/ under their flat names; return the manifest (``emotion``: the table's labels), no skipped."""
    path = Path(source).expanduser()
    if is_url(source):
        raise EmoserError(f"fetch.source {source!r}: layout csv reads a local table (file, emotion, speaker); "
                          "download it and its audio first")
    if path.is_dir():
        raise EmoserError(f"fetch.source {source!r}: is a folder; layout csv reads a table (file, emotion, speaker)")
    if not path.is_file():
        raise EmoserError(f"fetch.source {source!r}: no such table")
    if sha256 and sha256_of(path) != sha256.lower():
        raise EmoserError(f"{source}: sha256 is {sha256_of(path)}, fetch.sha256 says {sha256}")
    table = read_table(path, source, reserved=TABLE_RESERVED)
    where = [table.where(i) for i in range(len(table.names))]
    map_labels(table.rows["emotion"].tolist(), where, kind, label_map, source)   # its errors before any audio
    for i, audio_path in enumerate(table.paths):
        if not audio_path.is_file():
            raise EmoserError(f"{source}, line {table.lines[i]}: audio file {table.rows['file'].iloc[i]!r} "
                              f"not found ({audio_path})")
    return pd.DataFrame(copy_recordings(table, staging / "wav", source)), []


def copy_recordings(table: Table, wav: Path, source: str) -> list[dict]:
    """Check each recording of ``table``, copy it into ``wav``; its manifest row (audio facts included)."""
    wav.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, (audio_path, name) in enumerate(zip(table.paths, table.names)):
        cells = table.rows.iloc[i]
        audio = check_wav(audio_path, f"{source}, line {table.lines[i]}: {cells['file']}")
        shutil.copyfile(audio_path, wav / name)
        rows.append({"file": name, "utterance": PurePosixPath(name).stem, "speaker": cells["speaker"],
                     "emotion": cells["emotion"], **audio,
                     **{c: v for c, v in cells.items() if c not in ("file", "speaker", "emotion")}})
    return rows
