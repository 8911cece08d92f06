import numpy as np

from emoser.models import build_model
from emoser.params import ArchitectureParams

ARCH = ArchitectureParams.model_validate({
    "cnn": {"filters": [4, 8], "kernel": 3, "dense": 16, "dropout": 0.1},
    "cnn_lstm": {"chunks": 5, "filters": [4], "kernel": 3, "lstm_units": 6, "dense": 8, "dropout": 0.1},
})


def test_cnn_output_is_a_distribution_over_emotions():
    model = build_model("cnn", "cce", 14, 30, ARCH, 1e-3)
    out = model.predict(np.random.default_rng(0).normal(size=(3, 14, 30)).astype("float32"), verbose=0)
    assert out.shape == (3, 7)
    assert np.allclose(out.sum(axis=1), 1, atol=1e-5)


def test_cnn_lstm_runs_the_lstm_over_time_chunks():
    model = build_model("cnn_lstm", "mse", 14, 30, ARCH, 1e-3)
    lstm = next(layer for layer in model.layers if layer.__class__.__name__ == "LSTM")
    # (batch, time steps, per-chunk embedding): the LSTM's steps are the 5 time chunks, not MFCCs
    assert tuple(lstm.input.shape)[1] == 5
    # each chunk's CNN sees 30 / 5 = 6 frames x 14 features
    reshape = next(layer for layer in model.layers if layer.__class__.__name__ == "Reshape")
    assert tuple(reshape.output.shape)[1:] == (5, 6, 14, 1)
    assert model.output.shape[-1] == 7
    assert model.loss == "mean_squared_error"


def test_time_order_matters_to_the_cnn_lstm():
    model = build_model("cnn_lstm", "cce", 14, 30, ARCH, 1e-3)
    x = np.random.default_rng(1).normal(size=(1, 14, 30)).astype("float32")
    reversed_chunks = x.reshape(1, 14, 5, 6)[:, :, ::-1, :].reshape(1, 14, 30)
    assert not np.allclose(model.predict(x, verbose=0), model.predict(reversed_chunks, verbose=0))
