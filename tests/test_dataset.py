"""The features folder is written clip by clip and read a batch at a time; training streams from it
in exactly the order (and with exactly the values) the in-memory pipeline had."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from emoser.core.errors import EmoserError
from emoser.features.dataset import ARRAY, FeatureStore, Subset, write_features

SHAPE = (4, 12)


def _store(folder, n=50, seed=0):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, *SHAPE)).astype(np.float32)
    n_frames = rng.integers(3, SHAPE[1] + 1, size=n)
    for f, k in zip(features, n_frames):
        f[:, k:] = 0
    clips = np.array([f"c{i:03d}" for i in range(n)])
    written = write_features(folder, clips, ((features[i], int(n_frames[i])) for i in range(n)), SHAPE)
    assert np.array_equal(written, n_frames)
    return FeatureStore(folder), features, n_frames, clips


def test_rows_come_back_in_the_order_asked(tmp_path):
    store, features, n_frames, clips = _store(tmp_path / "features")
    assert store.shape == (50, *SHAPE) and len(store) == 50
    order = np.array([7, 3, 49, 0, 3])
    assert np.array_equal(store.rows(order), features[order])
    assert np.array_equal(store.n_frames, n_frames)
    assert np.array_equal(store.positions(["c010", "c002"]), [10, 2])
    assert np.array_equal(np.load(tmp_path / "features" / ARRAY), features)   # a plain .npy
    with pytest.raises(EmoserError, match="1 clips have no features"):
        store.positions(["c010", "nope"])


def test_a_cut_short_array_and_a_failed_write_are_clear(tmp_path):
    store, *_ = _store(tmp_path / "features")
    path = tmp_path / "features" / ARRAY
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(EmoserError, match=f"{path}: cut short at row 49"):
        FeatureStore(tmp_path / "features").rows(np.array([49]))

    def failing():
        yield np.zeros(SHAPE, np.float32), 5
        raise EmoserError("clip 2: unreadable")
    with pytest.raises(EmoserError, match="unreadable"):
        write_features(tmp_path / "other", np.array(["a", "b"]), failing(), SHAPE)
    assert not (tmp_path / "other").exists() and not list(tmp_path.glob(".other*"))   # nothing half-written
    with pytest.raises(EmoserError, match=r"a: features of shape \(3, 3\), expected \(4, 12\)"):
        write_features(tmp_path / "other", np.array(["a"]), iter([(np.zeros((3, 3)), 3)]), SHAPE)


def test_streamed_batches_equal_the_in_memory_pipeline(tmp_path):
    from emoser.corpora.emodb import EMOTIONS
    from emoser.features.normalisation import normalise
    from emoser.models.networks.training import batches, keras, tf

    store, features, n_frames, clips = _store(tmp_path / "features", n=45)
    chosen = np.array([5, 1, 44, 20, 9, 30, 12, 2, 40, 33, 17] * 3)[:30]
    table = pd.DataFrame({"clip": clips[chosen], "label": chosen % len(EMOTIONS)})
    subset = Subset(table, store, chosen)
    x = normalise(features[chosen], n_frames[chosen], "utterance")
    y = keras.utils.to_categorical(table["label"], len(EMOTIONS))
    before = (tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=3, reshuffle_each_iteration=True)
              .batch(8))
    streamed = batches(subset, "utterance", None, 8, 7, shuffle_seed=3)
    for _ in range(2):      # two epochs: the reshuffle is the same too
        old, new = list(before), list(streamed)
        assert len(old) == len(new) == 4
        for (xo, yo), (xn, yn) in zip(old, new):
            assert np.array_equal(xo.numpy(), xn.numpy()) and np.array_equal(yo.numpy(), yn.numpy())
