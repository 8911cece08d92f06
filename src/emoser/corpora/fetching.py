"""Getting Emo-DB (official URL, a local zip or a local folder): a safe download and extraction,
every wav checked, and the manifest (stage fetch)."""
from __future__ import annotations

import hashlib
import logging
import shutil
import stat
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import soundfile as sf
import urllib3
from tqdm import tqdm
from urllib3.util import Retry

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir, atomic_path, write_json
from emoser.corpora.emodb import EMOTIONS, parse_name, read_listener_test

log = logging.getLogger(__name__)

LISTENER_TEST = "erkennung.txt"
MIN_DURATION_S = 0.2          # shorter recordings cannot be featurised (the features stage would fail)
_CHUNK = 1 << 20
_WORK = ".fetch-work."        # the working folder beside data/raw; a killed run's is removed by the next


def is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


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


def _wanted_member(name: str) -> str | None:
    """Map an archive member to where it goes in the corpus folder, or None to leave it out.

    The archive holds more (label files, syllable data); only ``wav/*.wav`` and the
    listener test are taken, at the top level or inside one enclosing folder.
    """
    parts = PurePosixPath(name).parts
    if len(parts) >= 2 and parts[-2] == "wav" and len(parts) <= 3 and name.lower().endswith(".wav"):
        return f"wav/{parts[-1]}"
    if parts and parts[-1] == LISTENER_TEST and len(parts) <= 2:
        return LISTENER_TEST
    return None


def safe_extract(archive: Path, dest: Path, max_bytes: int, label: str | None = None) -> None:
    """Extract the corpus files of a zip, refusing anything that could write outside ``dest``;
    errors name ``label`` (the URL or path the user gave), never a temp file."""
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
        declared = sum(info.file_size for info in members)
        if declared > max_bytes:
            largest = max(members, key=lambda info: info.file_size)
            raise EmoserError(
                f"{label}: would unpack to {declared / 2**20:.0f} MiB (largest member {largest.filename!r}: "
                f"{largest.file_size / 2**20:.0f} MiB), over fetch.max_archive_mb "
                f"({max_bytes / 2**20:.0f} MiB); refusing a possible decompression bomb"
            )
        written = 0
        for info in members:
            target = None if info.is_dir() else _wanted_member(info.filename)
            if target is None:
                continue
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
            "duration": round(audio.shape[0] / sample_rate, 4)}


def build_manifest(corpus: Path, origin: str | None = None) -> tuple[pd.DataFrame, list[dict]]:
    """Check every wav of a corpus folder; return the manifest and the skipped files. Errors name
    files as ``origin: wav/NAME`` when the folder is a copy of what the user gave."""
    wav_dir = corpus / "wav"
    if not wav_dir.is_dir():
        raise EmoserError(f"{origin or corpus}: no wav/ folder (expected Emo-DB's layout: wav/, {LISTENER_TEST})")
    listener = None
    if (corpus / LISTENER_TEST).is_file():
        listener = read_listener_test(corpus / LISTENER_TEST).set_index("file")
    rows, skipped = [], []
    for path in sorted(wav_dir.iterdir()):
        if not path.is_file():
            log.warning("skipping wav/%s: not a file", path.name)
            skipped.append({"file": path.name, "reason": "not a file"})
            continue
        try:
            utt = parse_name(path.name)
        except ValueError as exc:
            log.warning("skipping %s", exc)
            skipped.append({"file": path.name, "reason": str(exc)})
            continue
        audio = check_wav(path, f"{origin}: wav/{path.name}" if origin else None)
        row = {
            "file": utt.file, "utterance": utt.utterance_id, "speaker": utt.speaker, "sex": utt.sex,
            "text": utt.text, "sentence": utt.sentence, "emotion": utt.emotion, "label": utt.label,
            "version": utt.version, **audio,
        }
        if listener is not None and utt.file in listener.index:
            row["recognition"] = float(listener.at[utt.file, "recognition"])
            row["naturalness"] = float(listener.at[utt.file, "naturalness"])
        rows.append(row)
    if not rows:
        raise EmoserError(f"{origin + ': wav/' if origin else wav_dir}: no Emo-DB wav files found")
    manifest = pd.DataFrame(rows)
    for column in ("recognition", "naturalness"):
        if column not in manifest:
            manifest[column] = np.nan
    missing = [e for e in EMOTIONS if e not in set(manifest["emotion"])]
    if missing:
        raise EmoserError(f"{origin + ': wav/' if origin else wav_dir}: no utterances of emotion(s) {missing}; "
                          "every class is needed")
    return manifest, skipped


def clear_stale_work(parent: Path) -> None:
    """Remove working folders that a killed fetch left beside data/raw (DVC holds the repository
    lock while a stage runs, so no live run owns them); also the unnamed ones older versions left."""
    stale = [*parent.glob(f"{_WORK}*.tmp"),
             *(d for d in parent.glob("tmp*") if d.is_dir() and any(d.glob(".download.zip.*.tmp")))]
    for folder in stale:
        log.info("removing %s, left by a killed run", folder)
        shutil.rmtree(folder, ignore_errors=True)


def fetch(source: str, out_dir: Path, *, sha256: str | None, timeout_s: float, max_bytes: int) -> dict:
    """Fetch and check the corpus from ``source`` into ``out_dir`` (replaced only on success)."""
    clear_stale_work(out_dir.parent)
    with atomic_dir(out_dir) as staging, tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=_WORK,
                                                                     suffix=".tmp") as work_dir:
        work = Path(work_dir)
        local = Path(source).expanduser()
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

        if archive is not None:
            if sha256:
                actual = sha256_of(archive)
                if actual != sha256.lower():
                    raise EmoserError(f"{source}: sha256 is {actual}, fetch.sha256 says {sha256}")
            safe_extract(archive, staging, max_bytes, label=source)
        else:
            if sha256:
                raise EmoserError("fetch.sha256 applies to an archive; fetch.source is a folder")
            # Emo-DB's folder (wav/, erkennung.txt), or its wav/ folder itself.
            wav_source = local / "wav" if (local / "wav").is_dir() else local if any(local.glob("*.wav")) else None
            if wav_source is None:
                raise EmoserError(f"fetch.source {source!r}: no wav/ folder and no wav files in it "
                                  f"(expected Emo-DB's layout: wav/, {LISTENER_TEST})")
            shutil.copytree(wav_source, staging / "wav")
            listener = wav_source.parent / LISTENER_TEST
            if listener.is_file():
                shutil.copy2(listener, staging / LISTENER_TEST)

        manifest, skipped = build_manifest(staging, origin=source)
        # Unknown names are skipped, not deleted from disk silently: drop them from the output.
        for item in skipped:
            skipped_path = staging / "wav" / item["file"]
            if skipped_path.is_dir():
                shutil.rmtree(skipped_path)
            else:
                skipped_path.unlink()
        manifest.to_csv(staging / "manifest.csv", index=False)
        report = {
            "source": source,
            "utterances": len(manifest),
            "skipped": len(skipped),
            "skipped_files": skipped,
            "speakers": int(manifest["speaker"].nunique()),
            "sample_rates": sorted(int(s) for s in manifest["sample_rate"].unique()),
            "per_emotion": {e: int((manifest["emotion"] == e).sum()) for e in EMOTIONS},
            "listener_test": bool(manifest["recognition"].notna().any()),
        }
        write_json(staging / "fetch_report.json", report)
    return report

