import math

import pytest

from conftest import SHARED_EMODB
from emoser.corpora.emodb import EMOTIONS, LABEL_BY_EMOTION, parse_listener_test, parse_name, read_listener_test


def test_parse_name_reads_every_field():
    utt = parse_name("03a01Fa.wav")
    assert (utt.speaker, utt.text, utt.emotion, utt.version) == ("03", "a01", "happiness", "a")
    assert utt.sex == "m" and utt.utterance_id == "03a01Fa"
    assert utt.label == EMOTIONS.index("happiness")
    assert parse_name("16b10Wb.wav").emotion == "anger"
    assert parse_name("08b03Ld.wav").sex == "f"


@pytest.mark.parametrize("name, problem", [
    ("notes.wav", "not an Emo-DB file name"),
    ("03a01Fa.mp3", "not an Emo-DB file name"),
    ("03a01fa.wav", "not an Emo-DB file name"),
    ("07a01Fa.wav", "unknown speaker '07'"),
    ("03c01Fa.wav", "not an Emo-DB file name"),
    ("03a03Fa.wav", "unknown text 'a03'"),
    ("03a01Xa.wav", "unknown emotion letter 'X'"),
])
def test_parse_name_rejects_with_reason(name, problem):
    with pytest.raises(ValueError, match=problem):
        parse_name(name)


def test_labels_are_one_order():
    assert [LABEL_BY_EMOTION[e] for e in EMOTIONS] == list(range(7))


def test_listener_test_latin1_decimal_comma_and_padding():
    raw = ("Nr.\tSatz\terkannt\tnatuerlich\n"
           "1\xa0\xa0\t03a01Ab.wav\t65,00\xa0\xa0\xa0\t35,50\xa0\n"
           "2\x00\x00\t03a01Fa.wav\t90,25\x00\x00\t75,00\x00\n").encode("latin-1")
    table = parse_listener_test(raw)
    assert table["file"].tolist() == ["03a01Ab.wav", "03a01Fa.wav"]
    assert table["recognition"].tolist() == [65.0, 90.25]
    assert table["naturalness"].tolist() == [35.5, 75.0]


def test_listener_test_bad_number_names_the_line():
    raw = b"Nr.\tSatz\terkannt\tnatuerlich\n1\t03a01Ab.wav\tabc\t35,00\n"
    with pytest.raises(ValueError, match="line 2"):
        parse_listener_test(raw, source="x.txt")


@pytest.mark.skipif(not SHARED_EMODB.is_dir(), reason="needs ../shared/emodb")
def test_real_listener_test_mean_over_the_535_files():
    table = read_listener_test(SHARED_EMODB / "erkennung.txt").set_index("file")
    files = sorted(p.name for p in (SHARED_EMODB / "wav").glob("*.wav"))
    assert len(files) == 535
    mean = table.loc[files, "recognition"].mean()
    assert math.isclose(mean, 93.5, abs_tol=0.05)
