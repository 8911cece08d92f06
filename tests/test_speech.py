"""The speech check (emoser.audio.speech): what emoser predict refuses as "no speech found"."""
import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from emoser.audio.speech import DEFAULT_MIN_SPEECH_S, voiced_seconds

SHARED_RAVDESS = REPO.parent / "shared" / "ravdess"
RATES = (8000, 16000, 22050, 44100)
FORMANTS = ((500, 80), (1500, 120), (2500, 160))  # Hz: centre, bandwidth


def vowels(rate: int, dbfs: float, seconds: float = 1.5, pad: float = 0.5) -> np.ndarray:
    """Speech-like audio: harmonics of a rising pitch (110 to 190 Hz) shaped by three formants, in
    three syllables at ``dbfs`` rms, with ``pad`` seconds of near-silence (-75 dBFS noise) around."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 110 + 80 * t / seconds
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = np.zeros_like(t)
    for k in range(1, int(min(4000, 0.45 * rate) / f0.min()) + 1):
        gain = sum(1 / (1 + ((k * f0 - fc) / bw) ** 2) for fc, bw in FORMANTS) / np.sqrt(k)
        x += np.where(k * f0 < 0.45 * rate, gain, 0) * np.sin(k * phase)
    x *= np.sin(3 * np.pi * t / seconds) ** 2
    x *= 10 ** (dbfs / 20) / np.sqrt(np.mean(x ** 2))
    gap = np.zeros(int(pad * rate))
    y = np.concatenate([gap, x, gap])
    return (y + 10 ** (-75 / 20) * np.random.default_rng(0).standard_normal(len(y))).astype(np.float32)


def snippets(signal: np.ndarray, rate: int, n: int = 9) -> list[np.ndarray]:
    """``n`` cuts of 0.1 s, spread over the recording."""
    return [signal[s:s + rate // 10] for s in np.linspace(0, len(signal) - rate // 10, n).astype(int)]


@pytest.mark.parametrize("rate", RATES)
@pytest.mark.parametrize("dbfs", [-15, -35, -50])
def test_speech_is_found_at_any_level(rate, dbfs):
    # -50 dBFS: as quiet as RAVDESS's quietest speakers; the former check heard 0.09 s of it
    assert voiced_seconds(vowels(rate, dbfs), rate) > 3 * DEFAULT_MIN_SPEECH_S


@pytest.mark.parametrize("rate", RATES)
def test_a_tenth_of_a_second_of_speech_is_not_enough(rate):
    assert max(voiced_seconds(s, rate) for s in snippets(vowels(rate, -35), rate)) < DEFAULT_MIN_SPEECH_S


@pytest.mark.parametrize("rate", RATES)
def test_no_speech_in_white_noise_at_any_level(rate):
    # at 8 kHz the former check heard 1.98 s of speech in 2 s of white noise (its flatness covered
    # 0-8 kHz, where an 8-kHz recording has nothing above 4 kHz)
    rng = np.random.default_rng(rate)
    for dbfs in (-30, -24, -18, -12, -6):
        noise = 10 ** (dbfs / 20) * rng.standard_normal(2 * rate)
        assert voiced_seconds(noise.astype(np.float32), rate) == 0, dbfs
    assert voiced_seconds(rng.uniform(-0.5, 0.5, 2 * rate).astype(np.float32), rate) == 0


@pytest.mark.parametrize("rate", RATES)
def test_no_speech_in_dither_silence_or_clicks(rate):
    rng = np.random.default_rng(rate)
    assert voiced_seconds((rng.integers(-1, 2, 2 * rate) / 32768).astype(np.float32), rate) == 0  # ±1 LSB
    assert voiced_seconds(np.zeros(2 * rate, np.float32), rate) == 0
    for amplitude in (0.01, 0.3, 1.0):
        clicks = np.zeros(2 * rate, np.float32)
        clicks[rate // 10::rate // 4] = amplitude          # 8 isolated impulses over silence
        assert voiced_seconds(clicks, rate) < DEFAULT_MIN_SPEECH_S, amplitude
    assert voiced_seconds(np.array([0.5], np.float32), rate) == 0


@pytest.mark.skipif(not SHARED_RAVDESS.is_dir(), reason="needs the local RAVDESS copy (../shared/ravdess)")
def test_no_ravdess_recording_is_refused():
    """All 1440 RAVDESS speech files (quiet speakers, long silences) have enough speech; the former
    check refused 203 of them. 0.1-s cuts of them do not."""
    files = sorted(SHARED_RAVDESS.glob("Actor_*/*.flac"))
    assert len(files) == 1440
    voiced = {}
    for f in files:
        signal, rate = sf.read(f, dtype="float32", always_2d=True)
        voiced[f.name] = voiced_seconds(signal.mean(axis=1), rate)
    assert min(voiced.values()) > 3 * DEFAULT_MIN_SPEECH_S, min(voiced, key=voiced.get)
    for f in files[::240]:
        signal, rate = sf.read(f, dtype="float32")
        assert max(voiced_seconds(s, rate) for s in snippets(signal, rate)) < DEFAULT_MIN_SPEECH_S, f.name
