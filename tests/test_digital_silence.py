"""Digital silence (exact zeros) and constants give finite features in every view the stages extract
(opensmile, embeddings, whisper: what stage ours fits on) and the same input to the voice encoder in
training and serving. Resemblyzer's volume normalisation divided by a zero level: NaN everywhere."""
import warnings

import numpy as np
import pytest
import soundfile as sf

from conftest import tone
from emoser.features import opensmile, voice_encoder, whisper
from emoser.serving import served

RATE = 16000


def _cases() -> dict[str, np.ndarray]:
    zeros = np.zeros(RATE * 2, dtype=np.float32)
    speech = tone(1.0, RATE, 150, seed=3)
    return {"zeros": zeros, "dc": zeros + 0.25, "padded": np.concatenate([zeros[:RATE], speech, zeros]),
            "dc_padded": np.concatenate([zeros[:RATE], speech, zeros]) - 0.1, "offset": speech + 0.2}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("silence")
    paths = []
    for name, signal in _cases().items():
        paths.append(folder / f"{name}.wav")
        sf.write(paths[-1], signal, RATE, subtype="FLOAT")
    return paths


def test_the_encoder_input_of_silence_is_silence_in_training_and_serving():
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)       # no divide by zero, no invalid cast
        for name, signal in _cases().items():
            trained = voice_encoder.prepare(signal, RATE)
            assert np.isfinite(trained).all(), name
            np.testing.assert_array_equal(served.encoder_input(signal, RATE), trained)
        assert not voice_encoder.prepare(_cases()["zeros"], RATE).any()


@pytest.mark.parametrize("view", ["compare", "voice", "whisper"])
def test_every_view_of_silence_and_constants_is_finite(files, view):
    names = [p.stem for p in files]
    if view == "compare":
        table = opensmile.extract(files, names, "ComParE_2016", jobs=2)   # workers: openSMILE after TensorFlow aborts
    elif view == "voice":
        table = voice_encoder.extract(files, names, jobs=1)
    else:
        table = whisper.extract(files, names, 4.0, (1, 3), "window", jobs=1)
    assert table.values.shape[0] == len(files) and np.isfinite(table.values).all(), view
