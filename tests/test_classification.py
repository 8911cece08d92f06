"""What a recording gets before and besides its emotion: the two speech checks (voice activity,
Whisper's no-speech probability) and, for a long recording, one row per voiced segment."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import SHARED_EMODB
from emoser.audio.speech import voiced_segments
from emoser.serving.classification import DEFAULT_MAX_NO_SPEECH, Screening, classify_recording
from emoser.serving.no_speech import NoSpeech
from test_speech import SHARED_RAVDESS, vowels

EMOTIONS = ["calm", "tense"]
RATE = 16000


def _predict(signal, rate, name):
    """A stand-in model: 'tense' when the stretch is loud."""
    loud = float(np.sqrt(np.mean(signal ** 2)) > 0.05)
    return np.array([1 - 0.8 * loud - 0.1, 0.8 * loud + 0.1])


def _talk(levels, rate=RATE, pause=1.0):
    """Speech-like syllables (``vowels``, 2.5 s each with their quiet edges) at each of ``levels`` dBFS,
    ``pause`` seconds of near-silence between them."""
    parts = []
    for dbfs in levels:
        parts += [vowels(rate, dbfs), np.zeros(int(pause * rate), np.float32)]
    return np.concatenate(parts)


def test_voiced_segments_follow_the_pauses():
    signal = _talk([-20, -35, -20])
    segments = voiced_segments(signal, RATE)
    assert len(segments) == 3
    starts = [3.5 * i + 0.5 for i in range(3)]          # each 2.5-s part, then 1 s of pause; speech after 0.5 s
    for (start, end), expected in zip(segments, starts):
        assert abs(start - (expected - 0.1)) < 0.2 and abs(end - (expected + 1.5 + 0.1)) < 0.25
    # a long stretch is cut into equal parts of at most max_s
    parts = voiced_segments(signal, RATE, max_gap_s=3.0, max_s=2.0)
    assert len(parts) >= 4 and all(end - start <= 2.0 + 1e-6 for start, end in parts)
    assert voiced_segments(np.zeros(3 * RATE, np.float32), RATE) == []


def test_a_long_recording_gets_its_segments_and_a_summary():
    signal = _talk([-20, -35, -20, -20])                 # 14 s
    screening = Screening(min_speech=0.3, max_no_speech=1.0, segment_over_s=10.0)
    rows, error = classify_recording("long.wav", lambda: (signal, RATE), _predict, EMOTIONS, "m", screening)
    assert error is None and len(rows) == 5
    whole, segments = rows[0], rows[1:]
    assert whole["start"] is None and whole["note"].startswith("4 of 4 voiced segments classified")
    assert [r["emotion"] for r in segments] == ["tense", "calm", "tense", "tense"]
    assert all(r["start"] < r["end"] for r in segments) and segments[1]["start"] > segments[0]["end"]
    durations = np.array([r["end"] - r["start"] for r in segments])
    expected = (durations[:, None] * np.array([[r[e] for e in EMOTIONS] for r in segments])).sum(0) / durations.sum()
    np.testing.assert_allclose([whole[e] for e in EMOTIONS], expected)
    assert whole["emotion"] == "tense"
    # shorter than the threshold, or the threshold off: one row
    for short in (Screening(max_no_speech=1.0, segment_over_s=20.0), Screening(max_no_speech=1.0, segment_over_s=0)):
        rows, _ = classify_recording("long.wav", lambda: (signal, RATE), _predict, EMOTIONS, "m", short)
        assert len(rows) == 1 and rows[0]["emotion"] is not None


def test_whisper_refuses_what_the_voice_check_lets_through():
    t = np.arange(2 * RATE) / RATE
    chord = sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)).astype(np.float32)
    check = NoSpeech(threads=1)
    screening = Screening(no_speech=check)
    rows, _ = classify_recording("chord.wav", lambda: (chord, RATE), _predict, EMOTIONS, "m", screening)
    assert rows[0]["voiced_s"] > 1.0                         # tonal: the voice-activity check hears "speech"
    assert rows[0]["emotion"] is None and rows[0]["no_speech"] >= DEFAULT_MAX_NO_SPEECH
    assert rows[0]["note"].startswith("no speech found (Whisper's no-speech probability")
    # the check off: classified
    off = Screening(max_no_speech=1.0, no_speech=check)
    rows, _ = classify_recording("chord.wav", lambda: (chord, RATE), _predict, EMOTIONS, "m", off)
    assert rows[0]["emotion"] is not None and rows[0]["no_speech"] is None


@pytest.mark.skipif(not SHARED_EMODB.is_dir() or not SHARED_RAVDESS.is_dir(), reason="needs ../shared's copies")
def test_real_speech_in_both_corpora_passes_whisper():
    check = NoSpeech(threads=2)
    files = sorted((SHARED_EMODB / "wav").glob("*.wav"))[::60] + sorted(SHARED_RAVDESS.rglob("*.flac"))[::160]
    probabilities = {f.name: check(*sf.read(f, dtype="float32")) for f in files}
    assert len(probabilities) >= 16 and max(probabilities.values()) < DEFAULT_MAX_NO_SPEECH, probabilities


def test_the_cli_answers_a_long_file_per_segment(tmp_path):
    sf.write(tmp_path / "talk.wav", _talk([-20, -35, -20, -20]), RATE)
    sf.write(tmp_path / "short.wav", vowels(RATE, -20), RATE)
    rows = [json.loads(line) for line in subprocess.run(
        [sys.executable, "-c", CLI_WITH_STAND_IN, str(Path(__file__).parent), str(tmp_path / "talk.wav"),
         str(tmp_path / "short.wav")], capture_output=True, text=True, timeout=300, check=True).stdout.splitlines()]
    assert [(r["file"].rsplit("/", 1)[-1], r["start"] is None) for r in rows] == \
        [("talk.wav", True)] + [("talk.wav", False)] * 4 + [("short.wav", True)]
    assert set(rows[0]) == {"file", "model", "start", "end", "emotion", "probabilities", "speech_s", "voiced_s",
                            "no_speech", "note"}


# emoser predict's own main, with a stand-in predictor (the real models are tested in test_predict and
# test_served): what the CLI prints for segments
CLI_WITH_STAND_IN = """
import sys
sys.path.insert(0, sys.argv.pop(1))
from emoser.serving import predict
from test_classification import _predict, EMOTIONS
predict.load_predictor = lambda folder: predict.Predictor(_predict, EMOTIONS, "stand-in", False, lambda s, r: 0.0)
predict.main(["--json", "--model", "unused", *sys.argv[1:]])
"""
