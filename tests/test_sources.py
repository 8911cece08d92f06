"""Stage sources: what a corpus's local source holds is a dependency DVC sees (issue 37, point 3). Real DVC on
a copy of the project's dvc.yaml; the corpus a user's own table (layout csv) of real audio."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import soundfile as sf
import yaml

from conftest import REPO, tone
from emoser.corpora.sources import StatCache, describe

EMOTIONS = ("anger", "happiness", "sadness", "neutral")


def _corpus(folder: Path) -> Path:
    """A user's corpus: 3 speakers x 4 emotions x 2 texts of 0.5-s tones and labels.csv naming them."""
    rows = []
    for s, speaker in enumerate(("ann", "bob", "cy")):
        for e, emotion in enumerate(EMOTIONS):
            for t in range(2):
                name = f"audio/{speaker}_{emotion}_{t}.wav"
                (folder / name).parent.mkdir(parents=True, exist_ok=True)
                sf.write(folder / name, tone(0.5, 8000, 120 + 30 * e + 5 * s, seed=len(rows)), 8000)
                rows.append({"file": name, "emotion": emotion, "speaker": speaker})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder / "labels.csv"


def _run(args, cwd: Path) -> str:
    env = {**os.environ, "PYTHONPATH": str(cwd / "src"), "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_describe_lists_every_visible_file_and_reuses_hashes(tmp_path):
    table = _corpus(tmp_path / "mine")
    (tmp_path / "mine/.DS_Store").write_bytes(b"finder")
    cache = StatCache(tmp_path / "state.json")
    folder = describe(str(tmp_path / "mine"), "csv", cache)
    assert folder["kind"] == "folder" and len(folder["files"]) == 25 and ".DS_Store" not in folder["files"]
    described = describe(str(table), "csv", cache)          # the table and the 24 recordings it names
    assert described["kind"] == "file" and set(described["files"]) == set(folder["files"])
    cache.save()
    again = StatCache(tmp_path / "state.json")
    assert len(again.known) == 25
    # a reused hash is only reused while size, mtime and inode are those it was taken under
    path = tmp_path / "mine/audio/ann_anger_0.wav"
    data, rate = sf.read(path)
    sf.write(path, -data, rate)                             # same size, new content
    assert describe(str(table), "csv", again)["files"]["audio/ann_anger_0.wav"] != described["files"][
        "audio/ann_anger_0.wav"]
    assert describe("https://example.org/x.zip", "emodb", again) == {"source": "https://example.org/x.zip",
                                                                     "kind": "url"}


def test_an_edited_table_or_replaced_recording_reruns_fetch_and_nothing_else_does(tmp_path):
    table = _corpus(tmp_path / "mine")
    repo = tmp_path / "repo"
    repo.mkdir()
    for name in ("dvc.yaml", ".dvcignore", ".gitignore"):
        shutil.copy(REPO / name, repo / name)
    shutil.copytree(REPO / "pipelines", repo / "pipelines", ignore=shutil.ignore_patterns("dvc.lock"))
    shutil.copytree(REPO / "src", repo / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["corpora"] = {"mine": {"layout": "csv", "source": str(table), "timeout_s": 10, "max_archive_mb": 10}}
    params["roles"] = {"networks": "mine", "ours": "all"}
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    _run(["git", "init", "-q"], repo)
    _run([sys.executable, "-m", "dvc", "init", "-q"], repo)
    manifest = repo / "data/corpora/mine/raw/manifest.csv"

    first = _run([sys.executable, "-m", "dvc", "repro", "fetch@mine"], repo)
    assert "Running stage 'pipelines/sources/dvc.yaml:sources'" in first and "Running stage 'fetch@mine'" in first
    assert "Stage 'fetch@mine' didn't change" in _run([sys.executable, "-m", "dvc", "repro", "fetch@mine"], repo)
    os.utime(table)                                          # touched, not changed: the same description
    assert "Stage 'fetch@mine' didn't change" in _run([sys.executable, "-m", "dvc", "repro", "fetch@mine"], repo)

    # the user relabels one recording in the table: fetch reruns and the manifest says so
    text = table.read_text()
    table.write_text(text.replace("audio/bob_sadness_1.wav,sadness", "audio/bob_sadness_1.wav,neutral"))
    assert "Running stage 'fetch@mine'" in _run([sys.executable, "-m", "dvc", "repro", "fetch@mine"], repo)
    relabelled = pd.read_csv(manifest).set_index("utterance")["emotion"]
    assert relabelled["audio__bob_sadness_1"] == "neutral" and (relabelled == "neutral").sum() == 7

    # a recording replaced under the same name (another take): fetched again, the new audio in raw/
    replaced = tmp_path / "mine/audio/cy_anger_0.wav"
    sf.write(replaced, tone(0.7, 8000, 300, seed=99), 8000)
    assert "Running stage 'fetch@mine'" in _run([sys.executable, "-m", "dvc", "repro", "fetch@mine"], repo)
    fetched = pd.read_csv(manifest).set_index("utterance").loc["audio__cy_anger_0"]
    assert abs(fetched["duration"] - 0.7) < 1e-6, fetched
    status = _run([sys.executable, "-m", "dvc", "status", "fetch@mine"], repo)
    assert "up to date" in status, status
