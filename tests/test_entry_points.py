"""Bad input through the real stage entry points (`python -m emoser.<stage>`): a non-zero exit,
one message naming the file or param, and no partial output left behind."""
from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from conftest import REPO, make_corpus, tone, zip_folder
from test_fetch import _CutOff

SR = 8000


def _params(source: str, **changes) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["corpora"]["emodb"]["source"] = source
    params["audio"]["sample_rate"] = SR
    params["augment"].update(pitch_copies=1, stretch_copies=1, jobs=1)
    params["features"].update(n_mfcc=8, n_fft=256, hop_length=128, frames=20, jobs=1)
    params["architectures"]["cnn_lstm"]["chunks"] = 4
    for key, value in changes.items():
        section, name = key.split(".")
        place = params["corpora"]["emodb"] if section == "fetch" else params[section]   # fetch.X: the corpus's X
        place[name] = value
    return params


PER_CORPUS = ("fetch", "folds", "baselines", "ours", "crosscorpus")   # run for corpus emodb unless told


def _stage(module: str, cwd: Path, params: dict, *args: str) -> subprocess.CompletedProcess:
    (cwd / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if module in PER_CORPUS and "--corpus" not in args:
        args = ("--corpus", "emodb", *args)
    return subprocess.run([sys.executable, "-m", f"emoser.stages.{module}", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=300)


def _leftovers(root: Path) -> list[str]:
    data = root / "data"
    if not data.exists():
        return []
    places = {data / "corpora", *(data / "corpora").glob("*"), data / "study", *(data / "study").glob("*")}
    return sorted(str(p.relative_to(root)) for p in data.rglob("*") if p not in places)


def _wav_bytes(signal: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, signal, SR, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


def _zip(path: Path, members: dict) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    return path


def _symlink_zip(path: Path) -> Path:
    link = zipfile.ZipInfo("wav/03a01Fa.wav")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip(path, {link: "/etc/passwd"})


GOOD = _wav_bytes(tone(0.5, SR, 200, seed=0))
BAD_FILES = {
    "empty wav": ({"16b10Wb.wav": b""}, r"16b10Wb\.wav: empty file"),
    "truncated wav": ({"16b10Wb.wav": GOOD[:30]}, r"16b10Wb\.wav: not readable audio"),
    "text with a .wav name": ({"16b10Wb.wav": b"this is not audio at all\n" * 20}, r"16b10Wb\.wav: not readable"),
    "silence": ({"16b10Wb.wav": _wav_bytes(np.zeros(SR // 2, dtype=np.float32))}, r"16b10Wb\.wav: is pure silence"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_fetch_refuses_a_bad_wav(tmp_path, case):
    extra, message = BAD_FILES[case]
    corpus = make_corpus(tmp_path / "corpus", extra_files=extra)
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and re.search(message, result.stderr), result.stderr
    assert _leftovers(work) == []


def test_fetch_skips_and_counts_unknown_names(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", extra_files={"notes.wav": GOOD, "17a01Wa.wav": GOOD})
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 0, result.stderr
    assert "notes.wav" in result.stderr and "17a01Wa.wav" in result.stderr       # warned
    report = yaml.safe_load((work / "data/corpora/emodb/raw/fetch_report.json").read_text())
    assert report["skipped"] == 2 and report["utterances"] == 49


def test_fetch_refuses_a_corpus_missing_an_emotion(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    for path in (corpus / "wav").glob("??a01E?.wav"):      # every disgust recording
        path.unlink()
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 2 and "['disgust']" in result.stderr
    assert _leftovers(work) == []


ARCHIVES = {
    "dot-dot path": (lambda p: _zip(p, {"../evil.wav": GOOD}), "outside the archive"),
    "absolute path": (lambda p: _zip(p, {"/tmp/evil.wav": GOOD}), "absolute path"),
    "symbolic link": (_symlink_zip, "symbolic link"),
    "decompression bomb": (lambda p: _zip(p, {"wav/03a01Fa.wav": b"\0" * (3 * 2**20)}), "decompression bomb"),
    "not a zip": (lambda p: (p.write_bytes(b"<html>404</html>"), p)[1], "not a readable zip"),
}


@pytest.mark.parametrize("case", list(ARCHIVES))
def test_fetch_refuses_a_hostile_archive(tmp_path, case):
    build, message = ARCHIVES[case]
    archive = build(tmp_path / "download.zip")
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(archive), **{"fetch.max_archive_mb": 1}))
    assert result.returncode == 2 and message in result.stderr and "download.zip" in result.stderr, result.stderr
    assert _leftovers(work) == [] and not (tmp_path / "evil.wav").exists()


def test_fetch_refuses_a_wrong_checksum(tmp_path):
    archive = zip_folder(make_corpus(tmp_path / "corpus"), tmp_path / "download.zip")
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(archive), **{"fetch.sha256": "0" * 64}))
    assert result.returncode == 2 and "download.zip" in result.stderr
    assert "corpora.emodb.sha256 says 000" in result.stderr, result.stderr   # the key as params.yaml has it
    assert _leftovers(work) == []


def test_fetch_refuses_a_cut_off_download(tmp_path, http_serve):
    url = http_serve(tmp_path, handler=_CutOff) + "/download.zip"
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(url, **{"fetch.timeout_s": 5}))
    assert result.returncode == 2 and "download.zip" in result.stderr, result.stderr
    assert _leftovers(work) == []


def _corrupt_member_zip(path: Path, corpus: Path) -> Path:
    """The corpus as a stored (uncompressed) zip with one byte of one member's audio flipped: its
    CRC no longer matches."""
    zip_folder(corpus, path)
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo("wav/03a01Wa.wav")
    data = bytearray(path.read_bytes())
    offset = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 200
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def test_fetch_names_a_corrupt_archive_member(tmp_path):
    archive = _corrupt_member_zip(tmp_path / "emodb.zip", make_corpus(tmp_path / "corpus"))
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(archive)))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"emoser fetch: error: {archive}: member 'wav/03a01Wa.wav' is corrupt (Bad CRC-32 for file "
        "'wav/03a01Wa.wav'); nothing was kept"], result.stderr
    assert _leftovers(work) == []


@pytest.mark.parametrize("forged_size", [100, 10**9])
def test_fetch_names_a_member_whose_size_header_is_forged(tmp_path, forged_size):
    """The central directory says the member holds ``forged_size`` bytes: fewer than it does (the
    CRC of what is read fails), or a billion (over the size limit)."""
    archive = zip_folder(make_corpus(tmp_path / "corpus"), tmp_path / "emodb.zip")
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("wav/03a01Wa.wav")
    data = bytearray(archive.read_bytes())
    central = data.index(b"PK\x01\x02")
    while True:   # the central directory entry of that member
        name_length = int.from_bytes(data[central + 28:central + 30], "little")
        if data[central + 46:central + 46 + name_length] == info.filename.encode():
            break
        central = data.index(b"PK\x01\x02", central + 4)
    data[central + 24:central + 28] = forged_size.to_bytes(4, "little")
    archive.write_bytes(bytes(data))
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(archive), **{"fetch.max_archive_mb": 50}))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith(f"emoser fetch: error: {archive}: ") and "wav/03a01Wa.wav" in line, line
    assert _leftovers(work) == []


class _ChunkedCutOff(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"1000\r\n" + b"PK" + b"\0" * 100)   # promises 4096 bytes, sends 102, hangs up
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_fetch_refuses_a_chunked_download_cut_off_midway(tmp_path, http_serve):
    url = http_serve(tmp_path, handler=_ChunkedCutOff) + "/download.zip"
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(url, **{"fetch.timeout_s": 5}))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert f"download of {url} broke off after" in result.stderr and "IncompleteRead" in result.stderr
    assert _leftovers(work) == []


def test_fetch_takes_the_wav_folder_itself_and_skips_a_sub_folder(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    (corpus / "wav" / "extra").mkdir()
    (corpus / "wav" / "extra" / "03a01Wa.wav").write_bytes(GOOD)
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(corpus / "wav")))
    assert result.returncode == 0, result.stderr
    report = json.loads((work / "data/corpora/emodb/raw/fetch_report.json").read_text())
    assert report["utterances"] == 49 and report["listener_test"]          # erkennung.txt from the parent
    assert report["skipped_files"] == [{"file": "extra", "reason": "not a file"}]
    assert not (work / "data/corpora/emodb/raw/wav/extra").exists()


def test_fetch_names_the_source_not_a_temp_path_and_refuses_a_too_short_recording(tmp_path):
    short = _wav_bytes(tone(0.05, SR, 200, seed=2))
    archive = zip_folder(make_corpus(tmp_path / "corpus", extra_files={"16b10Wb.wav": short}), tmp_path / "e.zip")
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(archive)))
    assert result.returncode == 2 and ".tmp" not in result.stderr, result.stderr
    assert result.stderr.strip() == (f"emoser fetch: error: {archive}: wav/16b10Wb.wav: 0.050 s long; "
                                     "recordings under 0.2 s cannot be featurised")
    assert _leftovers(work) == []


def test_fetch_removes_what_a_killed_run_left(tmp_path):
    corpus = make_corpus(tmp_path / "corpus")
    work = tmp_path / "work"
    for stale in ("data/corpora/emodb/.fetch-work.x1y2.tmp/download.zip",
                  "data/corpora/emodb/tmpab12cd/.download.zip.123.tmp",
                  "data/corpora/emodb/.raw.zz9.tmp/wav/03a01Wa.wav"):
        (work / stale).parent.mkdir(parents=True, exist_ok=True)
        (work / stale).write_bytes(b"partial")
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (work / "data/corpora/emodb").iterdir()) == ["raw"]


def test_features_refuse_a_clip_shorter_than_one_fft_frame(tmp_path):
    tiny = _wav_bytes(tone(0.25, SR, 200, seed=1))     # 2000 samples: passes fetch, < n_fft 3000 < 4000
    corpus = make_corpus(tmp_path / "corpus", extra_files={"16b10Wb.wav": tiny})
    work = tmp_path / "work"
    work.mkdir()
    params = _params(str(corpus), **{"augment.stretch_copies": 0, "augment.pitch_copies": 0,
                                     "features.n_fft": 3000})
    for stage in ("fetch", "augment"):
        assert _stage(stage, work, params).returncode == 0
    before = _leftovers(work)
    result = _stage("features", work, params)
    assert result.returncode == 2 and "16b10Wb" in result.stderr and "n_fft" in result.stderr, result.stderr
    assert _leftovers(work) == before          # no data/features, no temp files


@pytest.mark.parametrize("stage, key, value, message", [
    ("train", "model.arch", "resnet", "model.arch"),
    ("train", "model.loss", "hinge", "model.loss"),
    ("split", "split.protocol", "random", "split.protocol"),
    ("split", "split.train", 0.8, "must be 1"),
    ("split", "split.test_speakers", ["03", "09"], "both val and test"),
    ("folds", "cv.variants", ["cnn-hinge"], "cv.variants"),
    ("cv", "cv.variants", ["cnn-hinge"], "cv.variants"),
    ("train", "train.epocs", 3, "train.epocs"),
    ("cv", "features.frames", 151, "multiple of"),
    # the tiny params' 9 rows x 20 frames cannot pass the default 3 `valid` CNN blocks (the report's padding)
    ("train", "architectures.cnn", {"filters": [4, 8, 16], "kernel": 3, "padding": "valid", "dense": 8,
                                    "dropout": 0.1}, "leave nothing of 9 feature rows x 20 frames"),
    ("features", "features.denoise", True, "denoise each recording once"),
])
def test_each_stage_validates_its_params_before_reading_data(tmp_path, stage, key, value, message):
    work = tmp_path / "work"
    work.mkdir()
    args = ("--name", "model") if stage == "train" else ()
    result = _stage(stage, work, _params("unused", **{key: value}), *args)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(f"emoser {stage}: error: params.yaml: "), result.stderr
    assert message in result.stderr, result.stderr
    assert _leftovers(work) == []


def test_every_stage_refuses_an_unknown_section(tmp_path):
    params = _params("unused")
    params["trian"] = {"epochs": 3}
    for stage in ("fetch", "report"):
        result = _stage(stage, tmp_path, params)
        assert result.returncode == 2 and "unknown section(s) ['trian']" in result.stderr, result.stderr


def test_the_params_command_checks_every_section(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(_params("unused", **{"ours.C": -1})))
    result = subprocess.run([sys.executable, "-m", "emoser", "params", str(path)], capture_output=True, text=True)
    assert result.returncode == 2 and "ours.C" in result.stderr, result.stderr
    path.write_text(yaml.safe_dump(_params("unused")))
    result = subprocess.run([sys.executable, "-m", "emoser", "params", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "every section is valid" in result.stdout, result.stderr


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_a_killed_stage_reruns_to_the_same_outputs(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", seconds=2.0)
    params = _params(str(corpus), **{"augment.pitch_copies": 3, "augment.stretch_copies": 3})
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    for work in (clean, killed):
        work.mkdir()
        assert _stage("fetch", work, params).returncode == 0
    result = _stage("augment", clean, params)
    assert result.returncode == 0
    # Not a terminal: no progress bars, only log lines
    assert "\r" not in result.stderr and "it/s" not in result.stderr
    assert all(" INFO " in line or " WARNING " in line for line in result.stderr.splitlines()), result.stderr
    expected = _digest(clean / "data/study/emodb/augmented")

    # Kill augment once it has written part of its clips.
    process = subprocess.Popen([sys.executable, "-m", "emoser.stages.augment"], cwd=killed, start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            staged = list((killed / "data/study/emodb").glob(".augmented.*.tmp/wav/*.wav"))
            if len(staged) >= 20:
                break
            time.sleep(0.01)
        os.killpg(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL, "augment finished before it could be killed"
    assert not (killed / "data/study/emodb/augmented").exists()          # nothing half-written under the real name

    assert _stage("augment", killed, params).returncode == 0
    assert _digest(killed / "data/study/emodb/augmented") == expected
    assert list((killed / "data/study/emodb").glob(".augmented.*")) == []   # the killed run's temp folder is gone


def test_importing_the_training_code_prints_nothing():
    # TensorFlow's start-up chatter (oneDNN, CUDA, absl) means nothing to a user
    code = "import emoser.stages.train, emoser.stages.cv, emoser.stages.evaluate"
    result = subprocess.run([sys.executable, "-c", code],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stderr == "" and result.stdout == ""


def test_the_emoser_command_runs_stages_and_refuses_unknown_commands(tmp_path):
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(_params("unused", **{"split.train": 0.8})))
    result = subprocess.run([sys.executable, "-m", "emoser", "split"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and result.stderr.startswith("emoser split: error: params.yaml: "), result.stderr
    result = subprocess.run([sys.executable, "-m", "emoser", "trian"], cwd=tmp_path, capture_output=True, text=True)
    assert result.returncode == 2 and "unknown command 'trian'" in result.stderr


def test_the_emoser_command_has_an_entry_for_every_stage_dvc_yaml_runs():
    from emoser.cli import STAGES
    from stage_deps import stage_modules

    run = {module.removeprefix("emoser.stages.") for module in stage_modules().values()}
    assert run == set(STAGES), (sorted(run - set(STAGES)), sorted(set(STAGES) - run))
    result = subprocess.run([sys.executable, "-m", "emoser", "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and set(result.stdout.split("stages:")[1].replace("|", " ").split()) == run, \
        result.stdout


@pytest.mark.parametrize("key, value, message", [
    ("train.epochs", True, "train.epochs: expected int, got True (YAML reads yes/no/on/off as true/false)"),
    ("train.learning_rate", "0.001", "train.learning_rate: expected float, got the text '0.001'"),
    ("augment.denoise", "yes", "augment.denoise: expected bool, got the text 'yes'"),
])
def test_a_value_of_the_wrong_kind_is_refused_not_converted(tmp_path, key, value, message):
    """pydantic alone reads `epochs: yes` as 1 epoch and "0.001" as a number."""
    stage = "train" if key.startswith("train") else "augment"
    args = ["--name", "model"] if stage == "train" else []
    result = _stage(stage, tmp_path, _params("unused", **{key: value}), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert message in result.stderr and f"emoser {stage}: error: params.yaml:" in result.stderr, result.stderr


@pytest.mark.parametrize("stage, args, missing", [
    ("train", ["--name", "model"], "data/study/emodb/split.csv"),
    ("train", ["--name", "model", "--copy-of", "study/cnn-cce"], "models/study/cnn-cce/model.json"),
    ("cv", [], "data/study/emodb/augmented/clips.csv"),
    ("evaluate", ["--name", "model"], "models/model/model.json"),
    ("package", [], "models/ours/ours.joblib"),
    ("calibrate", [], "data/corpora/emodb/raw/manifest.csv"),
    ("report", [], "metrics/"),
])
def test_a_stage_run_before_its_inputs_says_what_is_missing(tmp_path, stage, args, missing):
    result = _stage(stage, tmp_path, _params("unused"), *args)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.strip().splitlines()[-1:]
    assert line.startswith(f"emoser {stage}: error: ") and missing in line and "dvc repro" in line, line


def test_train_copies_only_the_variant_it_was_asked_for(tmp_path):
    """`train --copy-of` checks the twin's facts first: another variant is one line and exit 2, and
    nothing is written."""
    import json
    twin = tmp_path / "models" / "study" / "cnn-cce"
    twin.mkdir(parents=True)
    (twin / "model.json").write_text(json.dumps({"normalisation": "utterance", "arch": "cnn", "loss": "cce"}))
    result = _stage("train", tmp_path, _params("unused"), "--name", "model", "--arch", "cnn", "--loss", "mse",
                    "--copy-of", "study/cnn-cce")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == \
        "emoser train: error: --copy-of study/cnn-cce: that model is cnn-cce, not cnn-mse"
    assert sorted(p.name for p in (tmp_path / "models").iterdir()) == ["study"]


@pytest.mark.parametrize("protocols, message", [
    (["loso"], r"corpus emodb: cv protocol loso \(stage folds\), speaker '03' held out: emotion 'disgust' has 1 "
               r"recording\(s\), it needs 2 or more"),
    (["kfold"], r"corpus emodb: cv protocol kfold \(stage folds\): emotion 'disgust' has 2 recording\(s\), "
                        r"it needs 5 or more \(one in each of cv\.k 5 test folds"),
])
def test_folds_name_an_emotion_with_too_few_recordings(tmp_path, protocols, message):
    """An emotion with 2 recordings (of 2 speakers): one line naming the corpus, stage, protocol, emotion and
    how to drop it, exit 2, no folds written (scikit-learn said 'The least populated class in y has only 1
    member')."""
    corpus = make_corpus(tmp_path / "corpus")
    for path in (corpus / "wav").glob("??a01E?.wav"):       # disgust: kept for speakers 03 and 08 only
        if not path.name.startswith(("03", "08")):
            path.unlink()
    work = tmp_path / "work"
    work.mkdir()
    params = _params(str(corpus))
    assert _stage("fetch", work, params).returncode == 0
    params["cv"]["protocols"] = protocols
    result = _stage("folds", work, params)
    assert result.returncode == 2, result.stderr
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and re.search(message, line), line
    assert "corpora.emodb.labels: {disgust: null}" in line, line
    assert not (work / "data/study/emodb/folds.csv").exists()


def test_fetch_reports_the_same_audio_under_two_names_and_refuses_it_under_two_labels(tmp_path):
    """Issue 37, point 6: a recording saved again under another name is found by content (its samples), named
    at fetch (log and fetch_report.json) and carried in the manifest (``content``) for the folds; the same
    audio labelled two emotions is one line naming both files, exit 2."""
    corpus = make_corpus(tmp_path / "corpus")
    shutil.copy(corpus / "wav/03a01Wa.wav", corpus / "wav/08a02Wa.wav")        # speaker 08, anger again
    work = tmp_path / "work"
    work.mkdir()
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 0, result.stderr
    assert "the same audio under 2 names: 03a01Wa.wav, 08a02Wa.wav" in result.stderr
    report = json.loads((work / "data/corpora/emodb/raw/fetch_report.json").read_text())
    assert report["duplicates"] == [["03a01Wa.wav", "08a02Wa.wav"]]
    manifest = pd.read_csv(work / "data/corpora/emodb/raw/manifest.csv").set_index("file")
    assert manifest.at["03a01Wa.wav", "content"] == manifest.at["08a02Wa.wav", "content"]
    assert manifest["content"].nunique() == len(manifest) - 1
    shutil.copy(corpus / "wav/03a01Wa.wav", corpus / "wav/08a02Na.wav")        # and as neutral
    shutil.rmtree(work / "data")
    result = _stage("fetch", work, _params(str(corpus)))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert re.search(r"the same audio carries different emotions: 03a01Wa\.wav \(anger\), 08a02Na\.wav \(neutral\), "
                     r"08a02Wa\.wav \(anger\)", result.stderr), result.stderr
    assert _leftovers(work) == []
