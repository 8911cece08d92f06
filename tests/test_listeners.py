import pandas as pd
import pytest

from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import listener_reference


def test_listener_reference_on_exactly_the_test_clips():
    recognition = pd.Series({"03a01Wa": 100.0, "03a02Wa": 80.0, "08a01Ta": 90.0, "09a01Na": 70.0})
    test = pd.DataFrame({"utterance": ["03a01Wa", "03a02Wa", "08a01Ta"],
                         "emotion": ["anger", "anger", "sadness"]})
    ref = listener_reference(test["utterance"], test["emotion"], recognition, EMOTIONS)
    assert ref["overall"] == pytest.approx(0.9)
    assert ref["per_class"] == {"anger": pytest.approx(0.9), "sadness": pytest.approx(0.9)}


def test_no_listener_test_gives_none():
    test = pd.DataFrame({"utterance": ["03a01Wa"], "emotion": ["anger"]})
    unknown = pd.Series({"03a01Wa": float("nan")})
    assert listener_reference(test["utterance"], test["emotion"], unknown, EMOTIONS) is None
