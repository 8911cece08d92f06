"""Shared test helpers: tiny Emo-DB-like corpora made of synthetic audio, served over HTTP."""
from __future__ import annotations

import functools
import http.server
import os
import sys
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from emoser.corpora.emodb import EMOTION_BY_LETTER

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))      # tools/stage_deps.py: the stages' imports, read from the source


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true",
                     help="also run the end-to-end pipeline tests (marker e2e, several minutes); CI does")


E2E_FIRST = {"test_pipeline_e2e.py": 0, "test_e2e_reseed.py": 1}


def pytest_collection_modifyitems(config, items):
    if config.getoption("--all"):
        # Under the README's pytest-xdist options (-n 3 --dist loadfile --no-loadscope-reorder) each file
        # goes to one worker, in this order: the file whose first test builds the pipeline (tests/e2e.py,
        # shared by every end-to-end test), then the longest of the tests that copy that build (its worker
        # waits asleep for the build, then starts at once), then every other test, then the other
        # end-to-end files. Three workers on two cores: two computing while the third waits.
        def order(item) -> int:
            if "e2e" not in item.keywords:
                return 2
            return E2E_FIRST.get(Path(item.fspath).name, 3)
        items.sort(key=order)
        return
    skip = pytest.mark.skip(reason="end-to-end: run with `python -m pytest --all` (CI does)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)
SHARED_EMODB = REPO.parent / "shared" / "emodb"
LETTERS = "WLEAFTN"


def tone(seconds: float, sample_rate: int, freq: float, seed: int) -> np.ndarray:
    """A voiced-like test signal: a harmonic tone with a slow envelope plus a little noise."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    rng = np.random.default_rng(seed)
    harmonics = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 5))
    envelope = 0.5 * (1 - np.cos(2 * np.pi * t / seconds))
    return (0.3 * envelope * harmonics + 0.01 * rng.standard_normal(len(t))).astype(np.float32)


def make_corpus(folder: Path, speakers=("03", "08", "09", "10", "11", "12", "13"), texts=("a01",),
                seconds: float = 0.5, sample_rate: int = 8000, extra_files: dict | None = None) -> Path:
    """Write an Emo-DB-layout folder: wav/ with one file per speaker x text x emotion, and a
    listener test in the real file's format (Latin-1, decimal commas, 0xA0 and NUL padding)."""
    wav = folder / "wav"
    wav.mkdir(parents=True)
    lines = ["Nr.\tSatz\terkannt\tnatuerlich"]
    n = 0
    for s, speaker in enumerate(speakers):
        for text in texts:
            for e, letter in enumerate(LETTERS):
                name = f"{speaker}{text}{letter}a.wav"
                freq = 110 + 40 * e + 7 * s  # emotion-dependent pitch: something to learn
                sf.write(wav / name, tone(seconds, sample_rate, freq, seed=n), sample_rate, subtype="PCM_16")
                n += 1
                lines.append(f"{n}\xa0\xa0\t{name}\t{80 + e},50\xa0\xa0\t{70 + s},00\x00\x00")
    for name, content in (extra_files or {}).items():
        (wav / name).write_bytes(content)
    (folder / "erkennung.txt").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    return folder


def make_ravdess_corpus(folder: Path, actors=(1, 2, 3), seconds: float = 0.5, sample_rate: int = 8000) -> Path:
    """Write a RAVDESS-layout folder: Actor_XX/03-01-EE-01-01-01-XX.flac, one per actor and emotion code
    (01..08), with an emotion-dependent pitch as make_corpus's."""
    for actor in actors:
        for code in range(1, 9):
            path = folder / f"Actor_{actor:02d}" / f"03-01-{code:02d}-01-01-01-{actor:02d}.flac"
            path.parent.mkdir(parents=True, exist_ok=True)
            sf.write(path, tone(seconds, sample_rate, 110 + 30 * code + 5 * actor, seed=100 * actor + code),
                     sample_rate, subtype="PCM_16")
    return folder


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return archive


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def http_serve():
    """Serve a folder on 127.0.0.1; yields a function folder -> base URL."""
    servers = []

    def serve(folder: Path, handler=None) -> str:
        handler = handler or functools.partial(_Quiet, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


assert set(LETTERS) == set(EMOTION_BY_LETTER)


@pytest.fixture(scope="session")
def e2e_build(tmp_path_factory):
    """The pipeline built once for every end-to-end test of the session (tests/e2e.py): under
    pytest-xdist, in the temp folder the workers share."""
    from e2e import built
    base = tmp_path_factory.getbasetemp()
    return built(base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)


@pytest.fixture(scope="session")
def tiny(tmp_path_factory):
    """(folder, manifest, {feature set: functionals}) of 56 one-second tones, with real openSMILE."""
    from emoser.corpora.fetching import build_manifest
    from emoser.features.opensmile import extract
    from emoser.params.opensmile import OPENSMILE_SETS

    root = tmp_path_factory.mktemp("functionals")
    corpus = make_corpus(root / "corpus", speakers=("03", "08", "09", "10"), texts=("a01", "a02"),
                         seconds=1.0, sample_rate=16000)
    manifest, _ = build_manifest(corpus)
    files = [corpus / "wav" / name for name in manifest["file"]]
    functionals = {s: extract(files, manifest["utterance"].tolist(), s, jobs=2) for s in OPENSMILE_SETS}
    return root, manifest, functionals


# Whisper's view in the tests: two layers, 1-s windows (the tiny corpus's length), pooled over the window
TINY_WHISPER = {"window_s": 1.0, "pooling": "window", "layers": (2, 5)}


def ours_params(**changes):
    """OursParams for the tiny corpus: few feature counts, every view, nested weights on 2 inner folds."""
    from emoser.params.ours import OursParams

    settings = dict(feature_set="ComParE_2016", feature_counts=(100, "all"), C=0.1,
                    whisper_layers=TINY_WHISPER["layers"],
                    fusion={"views": ("compare", "voice", "whisper"), "weights": "nested", "step": 0.25,
                            "inner_folds": 2},
                    speaker_standardisation=(False, True), ablation=True, jobs=2,
                    calibration={"protocol": "loso", "inner_folds": 2, "bins": 10})
    return OursParams(**{**settings, **changes})


@pytest.fixture(scope="session")
def tiny_inputs(tiny):
    """(manifest, fold table, {view: features}) of the tiny corpus: ComParE functionals, voice
    encoder and Whisper statistics."""
    from emoser.features.voice_encoder import extract as extract_embeddings
    from emoser.features.whisper import extract as extract_whisper
    from emoser.params.cv import CvParams
    from emoser.protocols.folds import make_folds

    root, manifest, functionals = tiny
    files = [root / "corpus" / "wav" / name for name in manifest["file"]]
    utterances = manifest["utterance"].tolist()
    embeddings = extract_embeddings(files, utterances, jobs=2)
    whisper = extract_whisper(files, utterances, TINY_WHISPER["window_s"], TINY_WHISPER["layers"],
                              TINY_WHISPER["pooling"], jobs=2)
    clips = manifest.assign(clip=manifest["utterance"], kind="original")
    folds = make_folds(clips, CvParams(protocols=("loso", "kfold"), k=2, val_fraction=0.15, seed=0, variants=()))
    views = {"compare": functionals["ComParE_2016"].select(utterances), "voice": embeddings.select(utterances),
             "whisper": whisper.select(utterances)}
    return manifest, folds, views
