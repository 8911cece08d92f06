import numpy as np
import pytest

from conftest import tone
from emoser.core.errors import EmoserError
from emoser.features.frames import extract, fit_frames
from emoser.features.normalisation import fit_normaliser, normalise
from emoser.params.features import FeatureParams

PARAMS = FeatureParams(n_mfcc=13, n_fft=512, hop_length=256, frames=40, denoise=True, energy="log",
                       normalisation="utterance", jobs=1)


def test_fit_frames_pads_and_cuts():
    short = np.ones((3, 5), dtype=np.float32)
    padded, valid = fit_frames(short, 8)
    assert padded.shape == (3, 8) and valid == 5
    assert padded[:, :5].sum() == 15 and not padded[:, 5:].any()
    long = np.arange(30, dtype=np.float32).reshape(3, 10)
    cut, valid = fit_frames(long, 4)
    assert valid == 4 and np.array_equal(cut, long[:, :4])


def test_extract_shape_and_frame_count():
    sr = 16000
    features, valid = extract(tone(1.0, sr, 200, seed=0), sr, PARAMS)
    assert features.shape == (14, 40) and features.dtype == np.float32
    assert valid == 40  # 1 s at hop 256 is 63 frames: cut to 40
    features, valid = extract(tone(0.3, sr, 200, seed=0), sr, PARAMS)
    assert valid == 1 + int(0.3 * sr) // 256  # centred frames
    assert not features[:, valid:].any()


def test_energy_row_tracks_loudness():
    sr = 16000
    quiet = extract(0.1 * tone(0.5, sr, 200, 0), sr, PARAMS.model_copy(update={"denoise": False}))[0]
    loud = extract(tone(0.5, sr, 200, 0), sr, PARAMS.model_copy(update={"denoise": False}))[0]
    # log energy grows by log(100) when amplitude grows 10x
    assert np.median(loud[-1, 5:25] - quiet[-1, 5:25]) == pytest.approx(np.log(100), abs=0.05)


def test_clip_shorter_than_a_frame_is_a_clear_error():
    with pytest.raises(EmoserError, match="shorter than one FFT frame"):
        extract(np.ones(100, dtype=np.float32), 16000, PARAMS)


def _batch():
    rng = np.random.default_rng(0)
    x = rng.normal(3, 2, size=(5, 4, 10)).astype(np.float32)
    n = np.array([10, 7, 3, 10, 5])
    for i, k in enumerate(n):
        x[i, :, k:] = 0
    return x, n


def test_train_normaliser_uses_real_frames_only():
    x, n = _batch()
    stats = fit_normaliser(x, n)
    real = np.concatenate([x[i, :, :k] for i, k in enumerate(n)], axis=1)
    assert np.allclose(stats["mean"], real.mean(axis=1), atol=1e-5)
    assert np.allclose(stats["std"], real.std(axis=1), atol=1e-5)
    out = normalise(x, n, "train", stats)
    real_out = np.concatenate([out[i, :, :k] for i, k in enumerate(n)], axis=1)
    assert np.allclose(real_out.mean(axis=1), 0, atol=1e-5)
    assert not out[2, :, 3:].any()  # padding stays zero


def test_utterance_normalisation_per_clip():
    x, n = _batch()
    out = normalise(x, n, "utterance")
    assert np.allclose(out[1, :, :7].mean(axis=1), 0, atol=1e-5)
    assert np.allclose(out[1, :, :7].std(axis=1), 1, atol=1e-3)
    assert not out[1, :, 7:].any()


def test_train_normalisation_needs_statistics():
    x, n = _batch()
    with pytest.raises(ValueError, match="statistics"):
        normalise(x, n, "train")
