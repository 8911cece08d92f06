import itertools

import pandas as pd
import pytest

from emoser.corpora.emodb import EMOTIONS, SPEAKERS
from emoser.params.split import SplitParams
from emoser.protocols.split import assign_subsets


def _clips(copies: int = 6) -> pd.DataFrame:
    """A clip table like augment's: 10 speakers x 7 emotions x 3 texts, each with copies."""
    rows = []
    for speaker, emotion, text in itertools.product(SPEAKERS, EMOTIONS, ("a01", "a02", "b01")):
        utt = f"{speaker}{text}{emotion[:1].upper()}a"
        rows.append({"clip": utt, "utterance": utt, "speaker": speaker, "emotion": emotion, "kind": "original"})
        for i in range(copies):
            rows.append({"clip": f"{utt}_pitch{i}", "utterance": utt, "speaker": speaker, "emotion": emotion,
                         "kind": "pitch"})
    return pd.DataFrame(rows)


def _params(**kw) -> SplitParams:
    base = dict(protocol="utterance", train=0.7, val=0.15, test=0.15, val_speakers=["03", "08"],
                test_speakers=["10", "09"], seed=1)
    return SplitParams(**{**base, **kw})


def _sides(clips, subset, key):
    table = clips.assign(subset=subset.loc[clips["clip"]].to_numpy())
    return {name: set(table.loc[table["subset"] == name, key]) for name in ("train", "val", "test")}


def test_utterance_protocol_keeps_copies_with_their_source():
    clips = _clips()
    subset = assign_subsets(clips, _params())
    sides = _sides(clips, subset, "utterance")
    assert not sides["train"] & sides["val"] and not sides["train"] & sides["test"]
    assert not sides["val"] & sides["test"]
    # val/test score originals only; their copies are unused, train keeps all copies
    held = clips.set_index("clip").assign(subset=subset)
    assert (held.loc[held["subset"].isin(["val", "test"]), "kind"] == "original").all()
    assert (held.loc[held["utterance"].isin(sides["train"]), "subset"] == "train").all()
    n_utts = clips["utterance"].nunique()
    assert len(sides["test"]) == pytest.approx(0.15 * n_utts, abs=1)


def test_utterance_protocol_is_stratified():
    clips = _clips()
    subset = assign_subsets(clips, _params())
    table = clips.assign(subset=subset.loc[clips["clip"]].to_numpy())
    test = table[table["subset"] == "test"]
    counts = test["emotion"].value_counts()
    assert set(counts.index) == set(EMOTIONS)
    assert counts.max() - counts.min() <= 1


def test_speaker_protocol_holds_out_whole_speakers():
    clips = _clips()
    subset = assign_subsets(clips, _params(protocol="speaker"))
    sides = _sides(clips, subset, "speaker")
    assert sides["val"] == {"03", "08"} and sides["test"] == {"10", "09"}
    assert not sides["train"] & (sides["val"] | sides["test"])
    assert len(sides["train"]) == 6


def test_leaky_protocol_really_mixes_copies_of_one_recording():
    clips = _clips()
    subset = assign_subsets(clips, _params(protocol="leaky"))
    sides = _sides(clips, subset, "utterance")
    shared = sides["train"] & sides["test"]
    assert len(shared) > 0.5 * len(sides["test"])
    assert (subset == "unused").sum() == 0
    assert (subset == "test").sum() == pytest.approx(0.15 * len(clips), abs=2)


def test_same_seed_same_split_other_seed_other_split():
    clips = _clips()
    a, b = assign_subsets(clips, _params()), assign_subsets(clips, _params())
    c = assign_subsets(clips, _params(seed=2))
    assert a.equals(b)
    assert not a.equals(c)


def test_speaker_protocol_checks_the_speakers_against_the_corpus():
    from emoser.core.errors import EmoserError

    with pytest.raises(EmoserError, match=r"split.val_speakers: speaker\(s\) \['07'\] not in the corpus"):
        assign_subsets(_clips(1), _params(protocol="speaker", val_speakers=["07"]))
    everyone = [s for s in SPEAKERS if s not in ("10", "09")]
    with pytest.raises(EmoserError, match="none is left to train on"):
        assign_subsets(_clips(1), _params(protocol="speaker", val_speakers=everyone))
    # the utterance protocol ignores the speaker lists, so another corpus need not change them
    assert set(assign_subsets(_clips(1), _params(val_speakers=["07"]))) == {"train", "val", "test", "unused"}


def test_an_emotion_too_small_to_stratify_is_named():
    """70/15/15 stratified needs 2 of each emotion in the held-out 30 %: 7 or more. 6 → the emotion named
    (scikit-learn said 'The least populated class in y has only 1 member'); 7 splits."""
    from emoser.core.errors import EmoserError

    clips = _clips(copies=0)
    fear = clips.index[clips["emotion"] == "fear"]
    with pytest.raises(EmoserError, match=r"split.protocol utterance \(stages split, folds\): emotion 'fear' has 6 "
                                          r"recording\(s\), it needs 7 or more"):
        assign_subsets(clips.drop(fear[6:]), _params())
    subset = assign_subsets(clips.drop(fear[7:]), _params())
    kept = clips.drop(fear[7:]).set_index("clip")
    assert set(subset[kept.index[kept["emotion"] == "fear"]]) == {"train", "val", "test"}
