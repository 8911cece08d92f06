"""Property tests of the parsers: what they accept round-trips, what they refuse is a ValueError."""
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emoser.corpora.emodb import EMOTION_BY_LETTER, SENTENCE_BY_TEXT, SPEAKERS, parse_listener_test, parse_name
from emoser.params.split import SplitParams

valid_names = st.builds(lambda s, t, e, v: f"{s}{t}{e}{v}.wav", st.sampled_from(SPEAKERS),
                        st.sampled_from(sorted(SENTENCE_BY_TEXT)), st.sampled_from(sorted(EMOTION_BY_LETTER)),
                        st.sampled_from("abcdefghijklmnopqrstuvwxyz"))


@given(valid_names)
def test_every_valid_name_round_trips(name):
    utt = parse_name(name)
    assert f"{utt.speaker}{utt.text}{name[5]}{utt.version}.wav" == name
    assert utt.emotion == EMOTION_BY_LETTER[name[5]]


@given(st.text(max_size=20))
def test_any_other_text_is_accepted_only_if_it_is_an_emodb_name(text):
    try:
        utt = parse_name(text)
    except ValueError:
        return
    assert text == utt.file and utt.speaker in SPEAKERS


padding = st.text(alphabet="\xa0\x00 ", max_size=4)
percent = st.integers(0, 10000).map(lambda n: n / 100)


@given(st.lists(st.tuples(valid_names, percent, percent, padding, padding), min_size=1, max_size=20,
                unique_by=lambda r: r[0]))
def test_listener_test_reads_what_was_written(rows):
    lines = ["Nr.\tSatz\terkannt\tnatuerlich"]
    for i, (name, rec, nat, pad1, pad2) in enumerate(rows, 1):
        rec_text, nat_text = f"{rec:.2f}".replace(".", ","), f"{nat:.2f}".replace(".", ",")
        lines.append(f"{i}{pad1}\t{name}\t{rec_text}{pad2}\t{nat_text}{pad1}")
    raw = "\n".join(lines).encode("latin-1")
    table = parse_listener_test(raw)
    assert table["file"].tolist() == [r[0] for r in rows]
    assert table["recognition"].tolist() == pytest.approx([r[1] for r in rows])
    assert table["naturalness"].tolist() == pytest.approx([r[2] for r in rows])


@settings(max_examples=200)
@given(st.binary(max_size=200))
def test_listener_test_garbage_is_a_value_error_or_a_table(raw):
    try:
        table = parse_listener_test(b"Nr.\tSatz\terkannt\tnatuerlich\n" + raw)
    except ValueError:
        return
    assert isinstance(table, pd.DataFrame)
    assert table["recognition"].between(0, 100).all()


@given(st.floats(0.01, 0.98), st.floats(0.01, 0.98), st.floats(0.01, 0.98))
def test_split_fractions_valid_only_when_they_sum_to_one(train, val, test):
    kw = dict(protocol="utterance", train=train, val=val, test=test, val_speakers=["03"], test_speakers=["09"],
              seed=0)
    if abs(train + val + test - 1) <= 1e-6:
        SplitParams(**kw)
    else:
        with pytest.raises(ValueError, match="must be 1"):
            SplitParams(**kw)
