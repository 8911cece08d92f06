"""The voice encoder's statistics (stage embeddings), on real audio files made here."""
import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from emoser.core.errors import EmoserError
from emoser.features.voice_encoder import (
    MIN_VOICED_S,
    extract,
    layer_statistics,
    load_encoder,
    prepare,
    statistic_names,
)


@pytest.fixture(scope="module")
def encoder():
    return load_encoder()


def _statistics(encoder, signal, rate):
    return layer_statistics(encoder, prepare(signal, rate))


def test_statistics_are_the_mean_and_spread_of_512_named_values(encoder):
    stats = _statistics(encoder, tone(1.0, 16000, 150, seed=0), 16000)
    assert stats.shape == (512,) and stats.dtype == np.float32 and np.isfinite(stats).all()
    assert len(statistic_names()) == 512 and statistic_names()[256] == "lstm3_std_000"
    assert (stats[256:] >= 0).all() and stats[256:].max() > 0          # a spread over frames, not one frame
    assert np.abs(stats[:256]).max() < 1                                # LSTM outputs lie in (-1, 1)


def test_sample_rate_is_explicit_and_quiet_recordings_are_levelled(encoder):
    signal16 = tone(1.0, 16000, 150, seed=0)
    base = _statistics(encoder, signal16, 16000)
    # the same sound recorded at 22.05 kHz: resampled to the encoder's 16 kHz, nearly the same input
    signal22 = tone(1.0, 22050, 150, seed=0)
    other_pitch = _statistics(encoder, tone(1.0, 16000, 260, seed=0), 16000)
    assert np.abs(_statistics(encoder, signal22, 22050) - base).max() < 0.2 * np.abs(other_pitch - base).max()
    # below Resemblyzer's -30 dBFS target every recording is raised to it: gain does not matter
    quiet = _statistics(encoder, 0.01 * signal16, 16000)
    np.testing.assert_allclose(_statistics(encoder, 0.02 * signal16, 16000), quiet, atol=1e-5)


def test_a_recording_the_voice_detector_rejects_is_used_whole():
    rate = 16000
    blip = 0.01 * tone(0.1, rate, 200, seed=3)          # too short for any voiced stretch, and quiet
    wav = prepare(blip, rate)
    assert len(wav) == len(blip) and MIN_VOICED_S * rate > len(blip)
    level = 20 * np.log10(np.sqrt(np.mean(wav ** 2)))
    assert level == pytest.approx(-30, abs=0.1)                         # still levelled


def test_extract_is_deterministic_whatever_the_batches(tmp_path):
    files = []
    for i, (rate, freq) in enumerate([(16000, 120), (22050, 180), (8000, 240), (16000, 300), (44100, 140)]):
        files.append(tmp_path / f"r{i}.wav")
        sf.write(files[-1], tone(0.8, rate, freq, seed=i), rate, subtype="PCM_16")
    names = [f.stem for f in files]
    one = extract(files, names, jobs=1, batch=32)
    two = extract(files, names, jobs=2, batch=2)
    assert list(one.utterances) == names and one.values.shape == (5, 512)
    np.testing.assert_array_equal(one.values, two.values)
    # different recordings, different statistics
    assert np.abs(one.values[0] - one.values[3]).max() > 1e-2


def test_unreadable_audio_names_the_file(tmp_path):
    bad = tmp_path / "03a01Wa.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(EmoserError, match="03a01Wa.wav: cannot read audio"):
        extract([bad], ["03a01Wa"], jobs=1)
