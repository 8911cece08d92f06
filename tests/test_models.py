import time

import keras
import numpy as np
import pytest

from emoser.models.networks.architectures import (
    STEPS_PER_EXECUTION,
    Bundle,
    build_cnn_lstm_time_distributed,
    build_model,
    compile_model,
    precision_policy,
)
from emoser.models.networks.precision import cpu_flags, training_precision
from emoser.params.networks import ArchitectureParams

ARCH = ArchitectureParams.model_validate({
    "cnn": {"filters": [4, 8], "kernel": 3, "padding": "same", "dense": 16, "dropout": 0.1},
    "cnn_lstm": {"chunks": 5, "filters": [4], "kernel": 3, "lstm_units": 6, "dense": 8, "dropout": 0.1},
})


def test_cnn_output_is_a_distribution_over_emotions():
    model = build_model("cnn", "cce", 14, 30, ARCH, 1e-3, 7)
    out = model.predict(np.random.default_rng(0).normal(size=(3, 14, 30)).astype("float32"), verbose=0)
    assert out.shape == (3, 7)
    assert np.allclose(out.sum(axis=1), 1, atol=1e-5)


def test_cnn_lstm_runs_the_lstm_over_time_chunks():
    model = build_model("cnn_lstm", "mse", 14, 30, ARCH, 1e-3, 7)
    lstm = next(layer for layer in model.layers if layer.__class__.__name__ == "LSTM")
    # (batch, time steps, per-chunk embedding): the LSTM's steps are the 5 time chunks, not MFCCs
    assert tuple(lstm.input.shape)[1] == 5
    # each chunk's CNN sees 30 / 5 = 6 frames x 14 features
    reshape = next(layer for layer in model.layers if layer.__class__.__name__ == "Reshape")
    assert tuple(reshape.output.shape)[1:] == (5, 6, 14, 1)
    assert model.output.shape[-1] == 7
    assert model.loss == "mean_squared_error"


def test_time_order_matters_to_the_cnn_lstm():
    model = build_model("cnn_lstm", "cce", 14, 30, ARCH, 1e-3, 7)
    x = np.random.default_rng(1).normal(size=(1, 14, 30)).astype("float32")
    reversed_chunks = x.reshape(1, 14, 5, 6)[:, :, ::-1, :].reshape(1, 14, 30)
    assert not np.allclose(model.predict(x, verbose=0), model.predict(reversed_chunks, verbose=0))


def test_cnn_lstm_is_the_report_time_distributed_network():
    """Same weights, same outputs: the Conv3D form only runs the per-chunk CNN as one convolution."""
    ours = build_model("cnn_lstm", "cce", 14, 30, ARCH, 1e-3, 7)
    report = build_cnn_lstm_time_distributed(14, 30, 7, ARCH.cnn_lstm)
    assert ours.count_params() == report.count_params()
    rng = np.random.default_rng(2)
    weights = [rng.normal(scale=0.3, size=w.shape).astype("float32") for w in report.get_weights()]
    report.set_weights(weights)
    ours.set_weights([w.reshape(target.shape) for w, target in zip(weights, ours.get_weights())])
    x = rng.normal(size=(6, 14, 30)).astype("float32")
    want = report.predict(x, verbose=0)
    assert not np.allclose(want, want[:1])          # inputs that the network tells apart
    np.testing.assert_allclose(ours.predict(x, verbose=0), want, atol=1e-5)


def test_bfloat16_networks_compute_in_bfloat16_keep_float32_weights_and_a_float32_softmax(tmp_path):
    """train.precision: bfloat16 builds under Keras' mixed_bfloat16 (restored after); the softmax
    stays float32, the weights float32, and a saved network loads back with its policies; float32
    builds exactly the network it built before precision was a param (no dtype on its output)."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(40, 14, 30)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, 40), 7)
    for arch in ("cnn", "cnn_lstm"):
        keras.utils.set_random_seed(0)
        with precision_policy("bfloat16"):
            model = build_model(arch, "cce", 14, 30, ARCH, 1e-3, 7)
        assert keras.mixed_precision.global_policy().name == "float32"
        hidden = [layer for layer in model.layers if layer.weights and layer.name != "emotion"]
        assert hidden and all(layer.dtype_policy.name == "mixed_bfloat16" for layer in hidden)
        assert model.get_layer("emotion").dtype_policy.name == "float32"
        assert all(w.dtype == "float32" for w in model.weights)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)
        out = model.predict(x[:3], verbose=0)
        assert out.dtype == np.float32 and np.allclose(out.sum(axis=1), 1, atol=1e-5)
        model.save(tmp_path / f"{arch}.keras")
        loaded = keras.models.load_model(tmp_path / f"{arch}.keras")
        assert loaded.layers[2].dtype_policy.name == "mixed_bfloat16"
        np.testing.assert_array_equal(loaded.predict(x[:3], verbose=0), out)
        with precision_policy("float32"):
            plain = build_model(arch, "cce", 14, 30, ARCH, 1e-3, 7)
        assert plain.get_layer("emotion").get_config() == build_model(arch, "cce", 14, 30, ARCH, 1e-3, 7).get_layer(
            "emotion").get_config() and plain.layers[2].dtype_policy.name == "float32"


def test_precision_auto_is_bfloat16_only_on_a_cpu_with_amx(tmp_path):
    """train.precision: auto -> bfloat16 where the trainings run on a CPU reporting amx_bf16, float32 on
    GPUs, on CPUs with only avx512_bf16 (not measured) or neither; a set precision is kept; a network is
    never built under 'auto' itself (the stage resolves it first)."""
    amx = {"avx512f", "avx512_bf16", "amx_bf16", "amx_tile"}
    assert training_precision("auto", gpus=[], flags=amx) == "bfloat16"
    assert training_precision("auto", gpus=["0"], flags=amx) == "float32"
    assert training_precision("auto", gpus=[], flags={"avx512f", "avx512_bf16"}) == "float32"
    assert training_precision("auto", gpus=[], flags=set()) == "float32"
    assert training_precision("float32", gpus=[], flags=amx) == "float32"
    assert training_precision("bfloat16", gpus=["0"], flags=set()) == "bfloat16"
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Xeon\nflags\t\t: fpu sse2 amx_bf16 amx_tile\n\n"
                       "processor\t: 1\nflags\t\t: fpu sse2 amx_bf16 amx_tile\n")
    assert cpu_flags(cpuinfo) == {"fpu", "sse2", "amx_bf16", "amx_tile"}
    assert cpu_flags(tmp_path / "missing") == set()
    with pytest.raises(ValueError, match="train.precision 'auto'"):
        with precision_policy("auto"):
            pass
    assert keras.mixed_precision.global_policy().name == "float32"


def test_several_steps_per_execution_train_the_same_weights():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(100, 14, 30)).astype("float32")
    y = keras.utils.to_categorical(rng.integers(0, 7, 100), 7)
    trained = []
    for steps in (1, STEPS_PER_EXECUTION):
        keras.utils.set_random_seed(0)
        model = build_model("cnn", "cce", 14, 30, ARCH, 1e-3, 7)
        compile_model(model, "cce", 1e-3, steps_per_execution=steps)
        model.fit(x, y, batch_size=8, epochs=2, verbose=0, shuffle=False)
        trained.append(model.get_weights())
    assert STEPS_PER_EXECUTION > 1
    for one, many in zip(*trained):
        np.testing.assert_array_equal(one, many)


def test_saving_the_same_model_twice_gives_the_same_bytes(tmp_path):
    keras.backend.clear_session()        # layer names restart, as in each training process
    model = build_model("cnn_lstm", "cce", 14, 30, ARCH, 1e-3, 7)
    stats = {"mean": np.zeros(14, dtype="float32")}
    Bundle(model, "train", stats, {"arch": "cnn_lstm"}).save(tmp_path / "a")
    time.sleep(2.1)                      # zip entry times have a 2-s resolution
    # the same weights in new objects (Keras writes ids of shared objects, which are addresses)
    keras.backend.clear_session()
    again = build_model("cnn_lstm", "cce", 14, 30, ARCH, 1e-3, 7)
    again.set_weights(model.get_weights())
    Bundle(again, "train", stats, {"arch": "cnn_lstm"}).save(tmp_path / "b")
    for name in (Bundle.MODEL_FILE, Bundle.STATS_FILE, Bundle.FACTS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(
        [Bundle.MODEL_FILE, Bundle.STATS_FILE, Bundle.FACTS_FILE])          # no temp files left
    loaded = Bundle.load(tmp_path / "a")
    x = np.random.default_rng(4).normal(size=(2, 14, 30)).astype("float32")
    np.testing.assert_allclose(loaded.network.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-6)


def test_a_saved_network_is_copied_with_new_facts_without_tensorflow(tmp_path):
    """Stage train copies the shipped model from its study twin: the same network and normaliser
    bytes, the facts it names replaced, and TensorFlow never started in that process."""
    import json
    import subprocess
    import sys

    import pytest

    from emoser.models.networks.saved import copy_saved

    model = build_model("cnn", "cce", 14, 30, ARCH, 1e-3, 7)
    Bundle(model, "utterance", {"mean": np.ones(14, dtype="float32")},
           {"arch": "cnn", "name": "study/cnn-cce", "params": {"train.seed": 1}}).save(tmp_path / "twin")
    code = ("import sys\nfrom pathlib import Path\nfrom emoser.models.networks.saved import copy_saved\n"
            "copy_saved(Path(sys.argv[1]), Path(sys.argv[2]), name='model', params={'train.seed': 2})\n"
            "assert not [m for m in sys.modules if m.startswith(('tensorflow', 'keras'))], 'TensorFlow loaded'\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "twin"), str(tmp_path / "model")], check=True)
    for name in (Bundle.MODEL_FILE, Bundle.STATS_FILE):
        assert (tmp_path / "model" / name).read_bytes() == (tmp_path / "twin" / name).read_bytes(), name
    facts = json.loads((tmp_path / "model" / Bundle.FACTS_FILE).read_text())
    assert facts == {"normalisation": "utterance", "arch": "cnn", "name": "model", "params": {"train.seed": 2}}
    assert Bundle.load(tmp_path / "model").facts["name"] == "model"
    with pytest.raises(ValueError, match="has no \\['speaker'\\]"):
        copy_saved(tmp_path / "twin", tmp_path / "other", speaker="03")


def test_stage_evaluate_scores_the_saved_test_probabilities_without_tensorflow(tmp_path):
    """Stage train saves each network's test probabilities (float32, read back to the last bit, in the
    test subset's order whatever the table's); scoring them starts no TensorFlow and gives what the
    network loaded and run gives; a table for other clips is refused; an older model without the table
    is loaded and run."""
    import subprocess
    import sys

    import pandas as pd
    import pytest

    from emoser.core.errors import EmoserError
    from emoser.features.dataset import FeatureStore, Subset
    from emoser.models.networks.probabilities import TEST_PROBABILITIES, saved_probabilities, write_test_probabilities

    class Store(FeatureStore):                       # six clips' features in memory
        def __init__(self, values, frames):
            self.values, self.n_frames = values, frames

        def rows(self, positions):
            return self.values[positions]
    rng = np.random.default_rng(5)
    values = rng.normal(size=(6, 14, 30)).astype("float32")
    model = build_model("cnn", "cce", 14, 30, ARCH, 1e-3, 7)
    emotions = ["anger", "boredom", "disgust", "fear", "happiness", "sadness", "neutral"]
    Bundle(model, "utterance", None, {"arch": "cnn", "emotions": emotions}).save(tmp_path / "net")
    store = Store(values, np.full(6, 30))
    test = Subset(pd.DataFrame({"clip": [f"c{i}" for i in range(6)]}), store, np.arange(6))
    network = Bundle.load(tmp_path / "net").predict_proba(test.features, test.n_frames)
    assert np.array_equal(saved_probabilities(tmp_path / "net", test), network)   # no table: the network
    order = [3, 1, 5, 0, 2, 4]                                       # the table in another order
    write_test_probabilities(tmp_path / "net", [f"c{i}" for i in order], network[order], emotions)
    assert np.array_equal(saved_probabilities(tmp_path / "net", test), network)   # bit for bit
    table = pd.read_csv(tmp_path / "net" / TEST_PROBABILITIES)
    assert list(table.columns) == ["clip", *emotions] and len(table) == 6
    code = ("import sys\nfrom pathlib import Path\nimport numpy as np, pandas as pd\n"
            "from emoser.models.networks.probabilities import saved_probabilities\n"
            "from emoser.features.dataset import Subset\n"
            "test = Subset(pd.DataFrame({'clip': [f'c{i}' for i in range(6)]}), None, np.arange(6))\n"
            "print(saved_probabilities(Path(sys.argv[1]), test).argmax(axis=1).tolist())\n"
            "import emoser.stages.evaluate\n"
            "assert not [m for m in sys.modules if m.startswith(('tensorflow', 'keras'))], 'TensorFlow loaded'\n")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "net")], check=True, capture_output=True,
                          text=True)
    assert done.stdout.strip() == str(network.argmax(axis=1).tolist())
    other = Subset(pd.DataFrame({"clip": [f"c{i}" for i in range(1, 7)]}), store, np.arange(6))
    with pytest.raises(EmoserError, match="its 6 clips are not the split's 6 test clips"):
        saved_probabilities(tmp_path / "net", other)
