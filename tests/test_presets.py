"""The student report's configuration as a params preset (issue 25, item 7): params only, valid,
every key a real difference; its features and networks as the report describes them."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml

from conftest import REPO, tone
from emoser.core.errors import EmoserError
from emoser.features.frames import extract
from emoser.features.normalisation import normalise
from emoser.params.features import FeatureParams
from emoser.params.networks import VARIANTS, ArchitectureParams
from emoser.params.presets import apply, load_preset, record, set_args

PARAMS = yaml.safe_load((REPO / "params.yaml").read_text())


def _emoser(cwd, *args):
    return subprocess.run([sys.executable, "-m", "emoser", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_the_report_preset_changes_only_real_keys_and_makes_valid_params():
    overrides = load_preset("report", REPO / "presets")
    changed = apply(PARAMS, overrides)
    for key, value in overrides.items():
        section, *rest = key.split(".")
        before, after = PARAMS[section], changed[section]
        for part in rest:
            before, after = before[part], after[part]
        assert before != value and after == value, key      # every key is a difference from params.yaml
    assert changed["features"]["n_mfcc"] == 12 and changed["architectures"]["cnn_lstm"]["lstm_units"] == [128, 128]
    done = _emoser(REPO, "preset", "report")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == set_args(overrides)
    assert "-S architectures.cnn.filters=[32,64]" in done.stdout and "-S features.energy=mean_power" in done.stdout


def test_a_bad_preset_is_one_line_naming_the_key(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    (tmp_path / "presets").mkdir()
    (tmp_path / "presets/typo.yaml").write_text("architectures.cnn.filterz: [8]\n")
    (tmp_path / "presets/wrong.yaml").write_text("features.energy: loud\n")
    for name, message in (("typo", "presets/typo.yaml: architectures.cnn.filterz: params.yaml has no such key"),
                          ("wrong", "features.energy: expected 'log' or 'mean_power', got the text 'loud'"),
                          ("missing", "no preset 'missing' (presets/missing.yaml does not exist; presets: typo, "
                                      "wrong)")):
        done = _emoser(tmp_path, "preset", name)
        assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
        assert message in done.stderr, done.stderr


def test_record_keeps_a_run_only_where_the_preset_is_in_effect(tmp_path):
    overrides = {"features.n_mfcc": 12}
    metrics = tmp_path / "metrics"
    (metrics / "study").mkdir(parents=True)
    for v in VARIANTS:
        (metrics / "study" / f"{v}.json").write_text(json.dumps({
            "uar": 0.5, "uar_ci": {"low": 0.4, "high": 0.6}, "accuracy": 0.55, "test_size": 81, "leaky": False,
            "replicates": {"seeds": [42, 43, 44], "uar_mean": 0.48, "uar_std": 0.03, "accuracy_mean": 0.5,
                           "accuracy_std": 0.02}}))
    with pytest.raises(EmoserError, match="has features.n_mfcc = 40, not 12"):
        record("report", overrides, PARAMS, metrics, tmp_path / "out")
    path = record("report", overrides, apply(PARAMS, overrides), metrics, tmp_path / "out")
    assert path.name == "report-utterance.json"
    kept = json.loads(path.read_text())
    assert kept["variants"]["cnn-mse"]["uar_mean"] == 0.48 and kept["variants"]["cnn-mse"]["seeds"] == [42, 43, 44]


def test_the_report_energy_row_and_peak_scaling():
    sr = 16000
    signal = tone(0.5, sr, 200, 0)
    params = FeatureParams.model_validate({**PARAMS["features"], "n_mfcc": 12, "energy": "mean_power",
                                          "normalisation": "peak", "n_fft": 512, "hop_length": 256, "frames": 40})
    features, valid = extract(signal, sr, params)
    assert features.shape == (13, 40)
    assert np.allclose(features[-1, :valid], np.mean(signal.astype(np.float64) ** 2))   # one number per clip
    assert not features[:, valid:].any()
    scaled = normalise(features[None], np.array([valid]), "peak")[0]
    assert np.allclose(np.abs(scaled[:, :valid]).max(axis=1), 1.0) and not scaled[:, valid:].any()
    assert np.allclose(scaled[-1, :valid], 1.0)


def test_the_report_networks_valid_cnn_and_two_stacked_lstms():
    from emoser.models.networks.architectures import build_model, keras

    report = apply(PARAMS, load_preset("report", REPO / "presets"))
    architectures = ArchitectureParams.model_validate(report["architectures"])
    cnn = build_model("cnn", "cce", 13, 150, architectures, 0.001, 7)
    convs = [layer for layer in cnn.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [32, 64] and {c.padding for c in convs} == {"valid"}
    assert convs[0].output.shape[1:3] == (11, 148)          # valid: a 3x3 kernel loses a frame on each side
    assert [d.units for d in cnn.layers if isinstance(d, keras.layers.Dense)] == [128, 7]
    lstm = build_model("cnn_lstm", "cce", 13, 150, architectures, 0.001, 7)
    lstms = [layer for layer in lstm.layers if isinstance(layer, keras.layers.LSTM)]
    assert [(layer.units, layer.return_sequences) for layer in lstms] == [(128, True), (128, False)]
    assert lstm.output.shape[1:] == (7,)
