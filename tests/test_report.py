"""The report's data-driven text: the numbers it quotes are the ones in the scores."""
import pandas as pd

from emoser.reporting.report import CV_TITLES, headline, leak_paragraph


def _row(model, protocol, uar, kind="trained"):
    return {"model": model, "protocol": CV_TITLES[protocol], "kind": kind, "uar": uar, "uar_low": uar - 0.05,
            "uar_high": uar + 0.05, "accuracy": uar, "accuracy_low": 0, "accuracy_high": 1, "n": 535}


SCORES = pd.DataFrame([
    _row("cnn-cce", "leaky", 0.917), _row("cnn-cce", "kfold", 0.489), _row("cnn-cce", "loso", 0.458),
    _row("compare", "kfold", 0.802, "baseline"), _row("compare", "loso", 0.747, "baseline"),
    _row("compare+spkstd", "loso", 0.831, "baseline"),
])


def test_leak_paragraph_quotes_the_differences():
    text = leak_paragraph(SCORES)
    assert "CNN cce (report): leaky k-fold 0.917 vs k-fold over source recordings 0.489" in text
    assert "adds **+42.8 points**" in text
    assert "k-fold 0.489 vs leave-one-speaker-out 0.458" in text and "+3.1 points" in text
    assert "ComParE 2016 + SVM: k-fold 0.802 vs leave-one-speaker-out 0.747" in text
    assert "speaker std." not in text          # no protocol pair for that row


def test_leak_paragraph_without_a_pair_says_so():
    assert "no pair of protocols" in leak_paragraph(SCORES[SCORES["protocol"] == CV_TITLES["loso"]])


def test_headline_names_the_best_rows():
    text = headline(SCORES, {CV_TITLES["loso"]: 0.935})
    assert text.startswith("Speaker-independent (LOSO) best: ComParE 2016 + SVM + speaker std., UAR 0.831")
    assert "without speaker standardisation: ComParE 2016 + SVM, UAR 0.747" in text
    assert "best of the report's variants: CNN cce (report), UAR 0.458" in text
    assert "listeners on the same recordings: 0.935" in text
