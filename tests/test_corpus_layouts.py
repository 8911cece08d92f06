"""Stage fetch over every layout (emodb, ravdess, csv): the label map, the emotion order, the manifest
contract, and bad input as one clear error that leaves nothing behind. Audio made here, tiny."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
import yaml

from conftest import REPO, make_corpus, tone
from emoser.core.errors import EmoserError
from emoser.corpora import ravdess
from emoser.corpora.emodb import EMOTIONS as EMODB_EMOTIONS
from emoser.corpora.fetching import fetch
from emoser.corpora.layouts import REQUIRED_COLUMNS, emotion_order, map_labels
from emoser.corpora.table import flat_name

MB = 2**20
SR = 8000
SHARED_RAVDESS = REPO.parent / "shared" / "ravdess"
PARAMS_LABELS = yaml.safe_load((REPO / "params.yaml").read_text())["corpora"]["ravdess"]["labels"]


def _fetch(source, out_dir: Path, **kwargs) -> dict:
    return fetch(str(source), out_dir, sha256=kwargs.pop("sha256", None), timeout_s=5, max_bytes=100 * MB, **kwargs)


def _manifest(out_dir: Path) -> pd.DataFrame:
    return pd.read_csv(out_dir / "manifest.csv", dtype={"speaker": str, "text": str, "repetition": str})


def _write(path: Path, seconds: float = 0.3, freq: float = 150, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, tone(seconds, SR, freq, seed), SR)   # each format's default subtype (ogg: Vorbis)
    return path


def _rav_name(emotion: int, actor: int, channel: str = "01", text: str = "01") -> str:
    return f"03-{channel}-{emotion:02d}-01-{text}-01-{actor:02d}"


def make_ravdess(folder: Path, actors=(1, 2), suffix=".flac", extra: dict | None = None) -> Path:
    """RAVDESS's layout: Actor_XX/03-01-EE-01-01-01-XX<suffix>, one per actor and emotion code."""
    for actor in actors:
        for code in range(1, 9):
            _write(folder / f"Actor_{actor:02d}" / (_rav_name(code, actor) + suffix), freq=100 + 20 * code,
                   seed=actor * 10 + code)
    for name, content in (extra or {}).items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


# --- ravdess -------------------------------------------------------------------------------------------

def test_ravdess_folder_of_flac_with_its_own_names(tmp_path):
    song = _rav_name(3, 1, channel="02") + ".flac"
    corpus = make_ravdess(tmp_path / "rav", extra={"README.md": b"hi", "Actor_01/notes.txt": b"x"})
    _write(corpus / "Actor_01" / song)
    report = _fetch(corpus, tmp_path / "raw", layout="ravdess")
    manifest = _manifest(tmp_path / "raw")
    assert report["utterances"] == 16 and report["speakers"] == 2 and report["sample_rates"] == [SR]
    assert report["skipped"] == 1 and report["skipped_files"][0]["file"] == song
    assert "song" in report["skipped_files"][0]["reason"]
    assert report["per_emotion"] == dict.fromkeys(ravdess.EMOTIONS, 2)
    assert report["layout"] == "ravdess" and report["dropped"] == {} and report["listener_test"] is False
    assert list(manifest.columns[:len(REQUIRED_COLUMNS)]) == list(REQUIRED_COLUMNS)
    assert list(manifest.columns[len(REQUIRED_COLUMNS):]) == [*ravdess.COLUMNS, "raw_emotion", "content"]
    assert emotion_order(manifest) == ravdess.EMOTIONS
    row = manifest.set_index("file").loc["03-01-05-01-01-01-02.flac"]
    assert (row["utterance"], row["speaker"], row["sex"], row["emotion"], row["label"]) == (
        "03-01-05-01-01-01-02", "02", "f", "angry", 4)
    assert (row["text"], row["sentence"], row["intensity"], row["repetition"]) == (
        "01", "Kids are talking by the door", "normal", "01")
    assert sorted(p.name for p in (tmp_path / "raw" / "wav").iterdir()) == sorted(manifest["file"])
    assert json.loads((tmp_path / "raw" / "fetch_report.json").read_text()) == report


def test_ravdess_zip_of_wav_inside_an_enclosing_folder(tmp_path):
    corpus = make_ravdess(tmp_path / "rav", actors=(1, 2, 3), suffix=".wav")
    archive = tmp_path / "Audio_Speech_Actors_01-24.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(corpus.rglob("*.wav")):
            zf.write(path, "Audio_Speech_Actors_01-24/" + path.relative_to(corpus).as_posix())
        zf.writestr("__MACOSX/Actor_01/._03-01-01-01-01-01-01.wav", b"resource fork")
        zf.writestr("Audio_Speech_Actors_01-24/readme.txt", b"text")
    report = _fetch(archive, tmp_path / "raw", layout="ravdess", labels=PARAMS_LABELS)
    manifest = _manifest(tmp_path / "raw")
    assert report["utterances"] == 18 and report["skipped"] == 0 and report["speakers"] == 3
    assert report["dropped"] == {"calm": 3, "surprised": 3}
    assert emotion_order(manifest) == ("neutral", "happiness", "sadness", "anger", "fear", "disgust")
    assert sorted(manifest["sex"]) == ["f"] * 6 + ["m"] * 12
    name = _rav_name(6, 3) + ".wav"
    assert (tmp_path / "raw" / "wav" / name).read_bytes() == (corpus / "Actor_03" / name).read_bytes()


def test_ravdess_same_file_in_two_actor_folders_is_refused(tmp_path):
    corpus = make_ravdess(tmp_path / "rav")
    twin = _rav_name(1, 1) + ".flac"
    (corpus / "Actor_02" / twin).write_bytes((corpus / "Actor_01" / twin).read_bytes())
    with pytest.raises(EmoserError, match=f"Actor_01/{twin} and Actor_02/{twin} are both wav/{twin}"):
        _fetch(corpus, tmp_path / "raw", layout="ravdess")
    assert not (tmp_path / "raw").exists()


def test_ravdess_folder_without_its_layout_is_refused(tmp_path):
    _write(tmp_path / "flat" / "03-01-01-01-01-01-01.wav")
    with pytest.raises(EmoserError, match="no RAVDESS speech files in it .expected Actor_01/"):
        _fetch(tmp_path / "flat", tmp_path / "raw", layout="ravdess")


@pytest.mark.parametrize("name, reason", [
    ("03-02-01-01-01-01-01.wav", "song"),
    ("02-01-01-01-01-01-01.wav", "video-only"),
    ("03-01-09-01-01-01-01.wav", "unknown emotion code '09'"),
    ("03-01-01-01-01-01-25.wav", "unknown actor '25'"),
    ("03-01-01-01-01-01-01.mp3", "not a RAVDESS file name"),
])
def test_ravdess_names_that_are_not_speech(name, reason):
    with pytest.raises(ValueError, match=reason):
        ravdess.parse_name(name)


# --- the label map and the emotion order --------------------------------------------------------------

def test_label_map_renames_merges_and_drops_in_the_layouts_order(tmp_path):
    corpus = make_ravdess(tmp_path / "rav")
    labels = {"neutral": "neutral", "calm": "neutral", "happy": "joy", "sad": None, "angry": "anger",
              "fearful": None, "disgust": None, "surprised": "joy"}
    report = _fetch(corpus, tmp_path / "raw", layout="ravdess", labels=labels)
    manifest = _manifest(tmp_path / "raw")
    assert emotion_order(manifest) == ("neutral", "joy", "anger")     # a merged name at its first place
    assert report["per_emotion"] == {"neutral": 4, "joy": 4, "anger": 2}
    assert report["dropped"] == {"sad": 2, "fearful": 2, "disgust": 2}
    assert len(list((tmp_path / "raw" / "wav").iterdir())) == 10
    assert set(manifest.loc[manifest["emotion"] == "joy", "raw_emotion"]) == {"happy", "surprised"}


def test_an_unmapped_label_is_named_with_its_first_file(tmp_path):
    corpus = make_ravdess(tmp_path / "rav")
    labels = {k: v for k, v in PARAMS_LABELS.items() if k != "surprised"}
    with pytest.raises(EmoserError, match=r"label 'surprised' \(first in 03-01-08-01-01-01-01.flac\) is not in the "
                                          r"label map; add it: labels: \{surprised: <emotion>\}, or surprised: null"):
        _fetch(corpus, tmp_path / "raw", layout="ravdess", labels=labels)
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("labels, message", [
    ({"angry": "anger", "cross": "anger"}, r"labels: 'cross' is not a ravdess label \(it has neutral, calm"),
    ({"angry": ""}, r"labels: angry: '' is not an emotion name"),
    ({"angry": "  "}, r"labels: angry: '  ' is not an emotion name"),
    ({**dict.fromkeys(ravdess.EMOTIONS), "angry": "anger"}, r"1 emotion\(s\) left after the label map \(anger\)"),
])
def test_bad_label_maps_are_refused_before_any_work(tmp_path, labels, message):
    corpus = make_ravdess(tmp_path / "rav", actors=(1,))
    with pytest.raises(EmoserError, match=message):
        _fetch(corpus, tmp_path / "raw", layout="ravdess", labels=labels)
    assert not (tmp_path / "raw").exists()


def test_emodb_label_map_and_an_empty_map_is_emodb_as_ever(tmp_path):
    corpus = make_corpus(tmp_path / "c")
    plain = _fetch(corpus, tmp_path / "plain")
    same = _fetch(corpus, tmp_path / "same", labels={e: e for e in EMODB_EMOTIONS})
    assert (tmp_path / "plain" / "manifest.csv").read_bytes() == (tmp_path / "same" / "manifest.csv").read_bytes()
    assert plain == {**same, "source": plain["source"]} and "layout" not in plain
    mapped = _fetch(corpus, tmp_path / "mapped", labels={**{e: e for e in EMODB_EMOTIONS}, "boredom": None,
                                                          "happiness": "joy"})
    manifest = _manifest(tmp_path / "mapped")
    assert emotion_order(manifest) == ("anger", "disgust", "fear", "joy", "sadness", "neutral")
    assert mapped["utterances"] == 42 and set(mapped) == set(plain)
    assert not any(name[5] == "L" for name in manifest["file"])
    assert len(list((tmp_path / "mapped" / "wav").iterdir())) == 42


def test_emotion_order_reads_labels_and_refuses_what_is_not_an_order():
    table = pd.DataFrame({"emotion": ["b", "a", "c", "a"], "label": [1, 2, 0, 2]})
    assert emotion_order(table) == ("c", "b", "a")
    with pytest.raises(EmoserError, match=r"labels are \[0, 2\]: expected 0..1"):
        emotion_order(pd.DataFrame({"emotion": ["a", "b"], "label": [0, 2]}))
    with pytest.raises(EmoserError, match="label 0 has several emotions: a, b"):
        emotion_order(pd.DataFrame({"emotion": ["a", "b", "c"], "label": [0, 0, 1]}))
    with pytest.raises(EmoserError, match="emotion 'a' has several labels: 0, 1"):
        emotion_order(pd.DataFrame({"emotion": ["a", "a"], "label": [0, 1]}))
    with pytest.raises(EmoserError, match="not all whole numbers"):
        emotion_order(pd.DataFrame({"emotion": ["a", "b"], "label": [0.0, 1.5]}))
    with pytest.raises(EmoserError, match="no label column"):
        emotion_order(pd.DataFrame({"emotion": ["a"]}))


def test_csv_order_is_the_maps_or_the_labels_sorted():
    from emoser.corpora.layouts import get_layout

    csv = get_layout("csv")
    raw, where = ["sad", "ang", "neu", "ang"], ["w"] * 4
    assert map_labels(raw, where, csv, None, "t").order == ("ang", "neu", "sad")
    mapped = map_labels(raw, where, csv, {"neu": "neutral", "xyz": "other", "sad": "sadness", "ang": "anger"}, "t")
    assert mapped.order == ("neutral", "sadness", "anger") and mapped.dropped == {}


# --- csv -----------------------------------------------------------------------------------------------

def make_table(folder: Path, text: str | None = None, files: dict | None = None) -> Path:
    """A table in ``folder`` and the audio it names (``files``: path -> seconds), each file its own audio
    (the same audio under two labels is an error of its own)."""
    for i, (name, seconds) in enumerate((files or {}).items()):
        _write(folder / name, seconds=seconds, freq=120 + 10 * len(name), seed=len(name) + 1000 * i)
    table = folder / "corpus.csv"
    table.write_text(text if text is not None else "")
    return table


GOOD_FILES = {"ang/s1/a.wav": 0.3, "ang/s2/a.wav": 0.3, "neu/b.flac": 0.4, "neu/c.wav": 0.3, "sad/d.ogg": 0.5}
GOOD_TABLE = ("file,emotion,speaker,session\n"
              "ang/s1/a.wav,anger,007,x\n"
              "ang/s2/a.wav,anger,8,y\n"
              "neu/b.flac, neutral ,007,\n"
              "\n"
              "./neu/c.wav,neutral,8,z\n"
              "sad/d.ogg,sadness,8,w\n")


def test_csv_table_with_nested_paths_other_formats_and_an_optional_column(tmp_path):
    table = make_table(tmp_path / "corpus", GOOD_TABLE, GOOD_FILES)
    report = _fetch(table, tmp_path / "raw", layout="csv")
    manifest = _manifest(tmp_path / "raw")
    assert list(manifest.columns) == [*REQUIRED_COLUMNS, "session", "raw_emotion", "content"]
    assert manifest["file"].tolist() == ["ang__s1__a.wav", "ang__s2__a.wav", "neu__b.flac", "neu__c.wav",
                                         "sad__d.ogg"]
    assert manifest["utterance"].tolist() == ["ang__s1__a", "ang__s2__a", "neu__b", "neu__c", "sad__d"]
    assert manifest["speaker"].tolist() == ["007", "8", "007", "8", "8"]
    assert emotion_order(manifest) == ("anger", "neutral", "sadness")
    assert manifest["session"].fillna("").tolist() == ["x", "y", "", "z", "w"]
    assert report["per_emotion"] == {"anger": 2, "neutral": 2, "sadness": 1} and report["speakers"] == 2
    assert report["layout"] == "csv" and report["skipped"] == 0 and report["listener_test"] is False
    assert manifest["duration"].tolist() == [0.3, 0.3, 0.4, 0.3, 0.5]
    wav = tmp_path / "raw" / "wav"
    assert sorted(p.name for p in wav.iterdir()) == sorted(manifest["file"])
    assert (wav / "sad__d.ogg").read_bytes() == (tmp_path / "corpus" / "sad" / "d.ogg").read_bytes()


def test_labels_and_speakers_that_pandas_calls_missing_stay_text(tmp_path):
    """Issue 37, point 4: "NA", "None", "null", "nan", "N/A" are names, read back the same by every stage
    (one reader: emoser.core.files.read_csv), never missing values that make recordings vanish."""
    from emoser.core.files import read_manifest
    from emoser.params.cv import CvParams
    from emoser.protocols.folds import recording_folds

    files = {f"{e}/{k}.wav": 0.3 for e in ("NA", "None", "null") for k in range(4)}
    rows = "".join(f"{name},{name.split('/')[0]},{('nan', 'N/A')[k % 2]}\n" for k, name in enumerate(files))
    table = make_table(tmp_path / "corpus", "file,emotion,speaker\n" + rows, files)
    report = _fetch(table, tmp_path / "raw", layout="csv")
    assert report["per_emotion"] == {"NA": 4, "None": 4, "null": 4} and report["speakers"] == 2
    manifest = read_manifest(tmp_path / "raw" / "manifest.csv")
    assert emotion_order(manifest) == ("NA", "None", "null")
    assert sorted(set(manifest["speaker"])) == ["N/A", "nan"] and manifest["emotion"].notna().all()
    folds = recording_folds(manifest, CvParams(protocols=("loso",), k=2, val_fraction=0.15, seed=0, variants=()),
                            None, False)
    assert sorted(folds["fold"].unique()) == ["N/A", "nan"] and len(folds) == 2 * 12


def test_csv_absolute_paths_and_a_label_map(tmp_path):
    outside = _write(tmp_path / "elsewhere" / "x.wav")
    table = make_table(tmp_path / "corpus", f"file,emotion,speaker\n{outside},A,s1\nin/y.wav,B,s2\nin/z.wav,C,s2\n",
                       {"in/y.wav": 0.3, "in/z.wav": 0.3})
    report = _fetch(table, tmp_path / "raw", layout="csv", labels={"C": "calm", "A": "anger", "B": None})
    manifest = _manifest(tmp_path / "raw")
    assert emotion_order(manifest) == ("calm", "anger") and report["dropped"] == {"B": 1}
    assert manifest["file"].tolist() == ["__".join(outside.parts[1:]), "in__z.wav"]
    assert flat_name("../up/a.wav", tmp_path / "corpus")[1] == "__".join((tmp_path / "up" / "a.wav").parts[1:])


BAD_TABLES = {
    "missing column": ("file,emotion,Speaker\nang/s1/a.wav,anger,1\n",
                       r"no column 'speaker' \(required: file, emotion, speaker; found: file, emotion, Speaker"),
    "computed column": ("file,emotion,speaker,label\nang/s1/a.wav,anger,1,3\n",
                        r"column 'label' is one fetch computes"),
    "duplicate file": ("file,emotion,speaker\nang/s1/a.wav,anger,1\nneu/b.flac,neutral,1\nang/s1/a.wav,anger,2\n",
                       r"file 'ang/s1/a.wav' is on line 2 and line 4"),
    "two names, one file": ("file,emotion,speaker\nneu/c.wav,neutral,1\nang/s1/a.wav,anger,1\n./neu/c.wav,neutral,2\n",
                            r"line 2 \('neu/c.wav'\) and line 4 \('./neu/c.wav'\) are one recording"),
    "one utterance": ("file,emotion,speaker\nneu/c.wav,neutral,1\nneu/c.flac,anger,1\n",
                      r"line 2 .* and line 3 .* would both be utterance 'neu__c'"),
    "missing audio": ("file,emotion,speaker\nang/s1/a.wav,anger,1\nneu/gone.wav,neutral,1\n",
                      r"line 3: audio file 'neu/gone.wav' not found"),
    "empty speaker": ("file,emotion,speaker\nang/s1/a.wav,anger,1\nneu/b.flac,neutral, \n",
                      r"line 3: empty speaker cell"),
    "empty emotion": ("file,emotion,speaker\nang/s1/a.wav,,1\nneu/b.flac,neutral,1\n", r"line 2: empty emotion cell"),
    "empty table": ("", r"empty table \(expected a header"),
    "header only": ("file,emotion,speaker\n", r"empty table \(a header, no rows\)"),
    "ragged row": ("file,emotion,speaker\nang/s1/a.wav,anger\n", r"line 2: 2 fields, the header has 3"),
    "bad quoting": ('file,emotion,speaker\nang/s1/a.wav,"anger"x,1\n', r"line 2: not a readable CSV table"),
    "one emotion": ("file,emotion,speaker\nang/s1/a.wav,anger,1\nang/s2/a.wav,anger,2\n",
                    r"1 emotion\(s\) left after the label map \(anger\)"),
    "unreadable audio": ("file,emotion,speaker\nang/s1/a.wav,anger,1\nneu/text.wav,neutral,1\n",
                         r"line 3: neu/text.wav: not readable audio"),
}


@pytest.mark.parametrize("case", list(BAD_TABLES))
def test_bad_tables_are_one_error_naming_the_table_and_leave_nothing(tmp_path, case):
    text, message = BAD_TABLES[case]
    table = make_table(tmp_path / "corpus", text, GOOD_FILES)
    (tmp_path / "corpus" / "neu" / "text.wav").write_text("not audio\n" * 10)
    out = tmp_path / "raw"
    out.mkdir()
    (out / "kept.txt").write_text("an earlier run")
    with pytest.raises(EmoserError, match=message) as info:
        _fetch(table, out, layout="csv")
    assert str(info.value).startswith(str(table)) and "\n" not in str(info.value)
    assert [p.name for p in out.iterdir()] == ["kept.txt"] and (out / "kept.txt").read_text() == "an earlier run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus", "raw"]


def test_csv_unmapped_label_names_the_file_as_written(tmp_path):
    table = make_table(tmp_path / "corpus", GOOD_TABLE, GOOD_FILES)
    with pytest.raises(EmoserError, match=r"label 'sadness' \(first in sad/d.ogg \(line 7\)\) is not in the label map"):
        _fetch(table, tmp_path / "raw", layout="csv", labels={"anger": "anger", "neutral": "neutral"})
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("content, message", [
    ("file,emotion,speaker\nä.wav,anger,1\n".encode("latin-1"), r"not a UTF-8 CSV table \(byte 0xe4 at offset 21"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", r"not a UTF-8 CSV table"),
    (b"file,emotion,speaker\n\x00\x01,a,b\n", r"not a CSV table \(it holds NUL bytes"),
])
def test_a_table_that_is_not_utf8_csv_is_named(tmp_path, content, message):
    table = tmp_path / "t.csv"
    table.write_bytes(content)
    with pytest.raises(EmoserError, match=message) as info:
        _fetch(table, tmp_path / "raw", layout="csv")
    assert str(info.value).startswith(str(table))
    assert not (tmp_path / "raw").exists()


def test_a_utf8_table_with_a_bom_and_crlf_is_read(tmp_path):
    text = GOOD_TABLE.replace("\n", "\r\n")
    table = make_table(tmp_path / "corpus", None, GOOD_FILES)
    table.write_bytes(b"\xef\xbb\xbf" + text.encode())
    assert _fetch(table, tmp_path / "raw", layout="csv")["utterances"] == 5


def test_csv_source_must_be_a_table(tmp_path):
    with pytest.raises(EmoserError, match="is a folder; layout csv reads a table"):
        _fetch(tmp_path, tmp_path / "raw", layout="csv")
    with pytest.raises(EmoserError, match="layout csv reads a local table"):
        _fetch("https://example.org/t.csv", tmp_path / "raw", layout="csv")


# --- the stage -----------------------------------------------------------------------------------------

def _run_stage(work: Path, monkeypatch, *argv: str, corpora: dict | None = None) -> None:
    from emoser.stages.fetch import main

    params = yaml.safe_load((REPO / "params.yaml").read_text())
    limits = {"timeout_s": 5, "max_archive_mb": 100}
    params["corpora"] = {name: {**limits, **corpus} for name, corpus in (corpora or {}).items()}
    params["roles"] = {"networks": next(iter(params["corpora"]), "emodb")}
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    monkeypatch.chdir(work)
    main(list(argv))


def test_stage_fetches_a_further_corpus_into_its_own_folder(tmp_path, monkeypatch):
    corpus = make_ravdess(tmp_path / "rav")
    work = tmp_path / "work"
    work.mkdir()
    _run_stage(work, monkeypatch, "--corpus", "rav",
               corpora={"rav": {"layout": "ravdess", "source": str(corpus), "labels": PARAMS_LABELS}})
    report = json.loads((work / "data/corpora/rav/raw/fetch_report.json").read_text())
    assert report["utterances"] == 12 and sorted(p.name for p in (work / "data" / "corpora").iterdir()) == ["rav"]


def test_stage_names_an_unknown_corpus(tmp_path, monkeypatch, capsys):
    work = tmp_path / "work"
    work.mkdir()
    with pytest.raises(SystemExit) as info:
        _run_stage(work, monkeypatch, "--corpus", "nope",
                   corpora={"ravdess": {"layout": "ravdess", "source": "x"},
                            "iemocap": {"layout": "csv", "source": "y"}})
    assert info.value.code == 2
    assert "corpora.nope: no such corpus in params.yaml (corpora has ravdess, iemocap)" in capsys.readouterr().err
    assert not (work / "data").exists()


# --- the real corpus -----------------------------------------------------------------------------------

@pytest.mark.skipif(not SHARED_RAVDESS.is_dir(), reason="needs ../shared/ravdess")
def test_real_ravdess_with_the_params_label_map(tmp_path):
    report = fetch(str(SHARED_RAVDESS), tmp_path / "raw", layout="ravdess", labels=PARAMS_LABELS, sha256=None,
                   timeout_s=5, max_bytes=2048 * MB)
    manifest = _manifest(tmp_path / "raw")
    assert report["utterances"] == len(manifest) == 1056 and report["speakers"] == 24
    assert report["per_emotion"] == {"neutral": 96, "happiness": 192, "sadness": 192, "anger": 192, "fear": 192,
                                     "disgust": 192}
    assert report["dropped"] == {"calm": 192, "surprised": 192} and report["skipped"] == 0
    assert emotion_order(manifest) == tuple(report["per_emotion"])
    assert manifest.groupby("sex")["speaker"].nunique().to_dict() == {"f": 12, "m": 12}


def test_a_flat_name_from_a_long_path_stays_a_legal_file_name(tmp_path):
    """Issue 37, point 5: a deep or long absolute path flattened past 255 bytes was an OSError at fetch;
    it keeps its last parts after a hash of the whole, one name per path."""
    deep = "/".join(f"folder-{'x' * 40}-{i}" for i in range(8))
    names = {flat_name(f"{deep}/{k}/recording.wav", tmp_path)[1] for k in ("a", "b")}
    assert len(names) == 2
    for name in names:
        assert len(name.encode()) <= 255 and name.endswith("__recording.wav"), name
    assert flat_name("short/a.wav", tmp_path)[1] == "short__a.wav"       # short names as they always were
    # and the real stage reads such a table
    files = {f"{deep}/{e}{k}.wav": 0.3 for e in ("anger", "neutral") for k in range(2)}
    rows = "".join(f"{name},{name.split('/')[-1][:-5]},s{k % 2}\n" for k, name in enumerate(files))
    table = make_table(tmp_path / "corpus", "file,emotion,speaker\n" + rows, files)
    report = _fetch(table, tmp_path / "raw", layout="csv")
    assert report["utterances"] == 4
    assert all(len(p.name.encode()) <= 255 for p in (tmp_path / "raw" / "wav").iterdir())
