"""Cross-validation folds: no speaker or source recording on both sides, every recording tested once."""
import pandas as pd
import pytest

from emoser.corpora.emodb import EMOTIONS, SPEAKERS
from emoser.params.cv import CvParams
from emoser.protocols.folds import make_folds


def _clips(speakers=SPEAKERS, texts=("a01", "a02", "b01"), copies=2) -> pd.DataFrame:
    rows = []
    for speaker in speakers:
        for text in texts:
            for label, emotion in enumerate(EMOTIONS):
                utterance = f"{speaker}{text}{'WLEAFTN'[label]}a"
                rows.append({"clip": utterance, "utterance": utterance, "speaker": speaker, "emotion": emotion,
                             "label": label, "kind": "original"})
                rows += [{"clip": f"{utterance}_pitch{i}", "utterance": utterance, "speaker": speaker,
                          "emotion": emotion, "label": label, "kind": "pitch"} for i in range(copies)]
    return pd.DataFrame(rows)


def _params(**changes) -> CvParams:
    values = dict(protocols=("loso", "kfold", "leaky"), k=5, val_fraction=0.15, seed=42, variants=("cnn-cce",))
    return CvParams(**{**values, **changes})


@pytest.fixture(scope="module")
def folds():
    clips = _clips()
    return clips, make_folds(clips, _params()).merge(clips, on="clip")


def _sides(table: pd.DataFrame, column: str):
    """For each fold: the values of ``column`` in train and in val/test."""
    for fold, part in table.groupby("fold"):
        trained = set(part.loc[part["subset"] == "train", column])
        held = set(part.loc[part["subset"].isin(["val", "test"]), column])
        yield fold, trained, held


def test_loso_tests_each_speaker_exactly_once_and_alone(folds):
    clips, table = folds
    loso = table[table["protocol"] == "loso"]
    test = loso[loso["subset"] == "test"]
    assert sorted(loso["fold"].unique()) == sorted(SPEAKERS)
    for fold, part in test.groupby("fold"):
        assert set(part["speaker"]) == {fold}
    # each original recording is tested exactly once over the 10 folds
    assert test["clip"].value_counts().eq(1).all() and set(test["clip"]) == set(clips.loc[clips.kind == "original",
                                                                                            "clip"])


@pytest.mark.parametrize("protocol", ["loso", "kfold"])
def test_no_source_recording_on_both_sides(folds, protocol):
    _, table = folds
    part = table[table["protocol"] == protocol]
    for fold, trained, held in _sides(part, "utterance"):
        assert not trained & held, (protocol, fold)
    # val and test hold original recordings only; copies of held-out recordings are unused
    assert (part.loc[part["subset"].isin(["val", "test"]), "kind"] == "original").all()
    for fold, rows in part.groupby("fold"):
        held = rows.loc[rows["subset"].isin(["val", "test"]), "utterance"]
        copies = rows[(rows["kind"] != "original") & rows["utterance"].isin(held)]
        assert len(copies) and set(copies["subset"]) == {"unused"}, (protocol, fold)


def test_loso_never_trains_on_the_test_speaker(folds):
    _, table = folds
    loso = table[table["protocol"] == "loso"]
    for fold, part in loso.groupby("fold"):
        assert fold not in set(part.loc[part["subset"].isin(["train", "val"]), "speaker"])
        assert part.loc[part["subset"] == "val", "speaker"].nunique() > 1  # val from the other speakers


def test_kfold_tests_every_recording_once_stratified(folds):
    clips, table = folds
    kfold = table[(table["protocol"] == "kfold") & (table["subset"] == "test")]
    originals = clips[clips["kind"] == "original"]
    assert sorted(kfold["clip"]) == sorted(originals["clip"])
    per_fold = kfold.groupby(["fold", "emotion"]).size().unstack()
    assert per_fold.shape == (5, len(EMOTIONS))
    assert (per_fold.max() - per_fold.min()).max() <= 1      # 30 per emotion -> 6 per fold


def test_leaky_protocol_puts_copies_of_test_recordings_in_training(folds):
    # The report's protocol is reproduced faithfully: that is what makes it leak.
    _, table = folds
    leaky = table[table["protocol"] == "leaky"]
    assert any(trained & held for _, trained, held in _sides(leaky, "utterance"))
    assert (leaky.loc[leaky["subset"] == "test", "kind"] != "original").any()


def test_folds_are_deterministic_per_seed():
    clips = _clips(copies=1)
    assert make_folds(clips, _params()).equals(make_folds(clips, _params()))
    assert not make_folds(clips, _params(seed=1)).equals(make_folds(clips, _params()))


def test_bad_cv_params_are_named():
    with pytest.raises(ValueError, match="unknown variants"):
        _params(variants=("cnn-hinge",))
    with pytest.raises(ValueError, match="protocols"):
        _params(protocols=("loso", "random"))


def test_loso_needs_two_recordings_per_speaker_and_two_speakers():
    from emoser.core.errors import EmoserError

    clips = _clips(speakers=("01", "02"), texts=("a01",), copies=0)
    lonely = pd.DataFrame([{"clip": "x", "utterance": "x", "speaker": "07", "emotion": "anger", "label": 0,
                            "kind": "original"}])
    with pytest.raises(EmoserError, match=r"speaker '07' has only one recording \(x\)"):
        make_folds(pd.concat([clips, lonely]), _params(protocols=("loso",)))
    with pytest.raises(EmoserError, match="1 speaker"):
        make_folds(clips[clips["speaker"] == "01"], _params(protocols=("loso",)))
    # any speaker ids, any count: RAVDESS-like "01".."24" are not Emo-DB's
    clips = _clips(speakers=("01", "02"), texts=("a01", "a02", "b01", "b02"), copies=0)
    assert make_folds(clips, _params(protocols=("loso",)))["fold"].unique().tolist() == ["01", "02"]


@pytest.mark.parametrize("protocol", ["loso", "kfold"])
def test_the_same_audio_under_two_names_is_never_trained_on_where_its_copy_is_tested(protocol):
    """Issue 37, point 6: recordings sharing ``content`` (fetch: the sha256 of their samples). Here one
    recording of speaker 03 was also saved as speaker 08's: wherever one is tested the other is 'unused',
    and a copy in val is not trained on either."""
    clips = _clips(texts=("a01", "a02", "b01", "b02"), copies=1)
    clips["content"] = clips["utterance"]
    twin_a, twin_b = "03a01Wa", "08b02Wa"
    clips.loc[clips["utterance"] == twin_b, "content"] = twin_a
    folds = make_folds(clips, _params(protocols=(protocol,))).merge(clips, on="clip")
    originals = folds[folds["kind"] == "original"]
    for fold, part in originals.groupby("fold"):
        side = part.set_index("utterance")["subset"]
        if "test" in (side[twin_a], side[twin_b]) or "val" in (side[twin_a], side[twin_b]):
            assert "train" not in (side[twin_a], side[twin_b]), (fold, side[[twin_a, twin_b]])
        if side[twin_a] == "test":
            assert side[twin_b] in ("test", "unused"), fold
    tested = originals[originals["subset"] == "test"]
    assert {twin_a, twin_b} <= set(tested["utterance"])        # both still tested, each in its own fold
    copies = folds[(folds["kind"] != "original") & folds["utterance"].isin([twin_a, twin_b])]
    assert set(copies["subset"]) <= {"train", "unused"}
    # no other recording moved: everything else as without the duplicate
    alone = make_folds(clips.assign(content=clips["utterance"]), _params(protocols=(protocol,)))
    merged = alone.merge(make_folds(clips, _params(protocols=(protocol,))), on=["protocol", "fold", "clip"])
    moved = merged[merged["subset_x"] != merged["subset_y"]]
    assert set(moved["clip"].str[:7]) <= {twin_a, twin_b} and len(moved) > 0
