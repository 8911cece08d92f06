import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from emoser.params import ParamsError, flatten
from emoser.params import load_all as load_params


def _write(tmp_path: Path, change) -> Path:
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    change(raw)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_repository_params_are_valid():
    params = load_params(REPO / "params.yaml")
    assert params.split.train + params.split.val + params.split.test == pytest.approx(1)
    assert params.model.arch in ("cnn", "cnn_lstm")
    assert "architectures.cnn_lstm.lstm_units" in flatten(params)


@pytest.mark.parametrize("change, message", [
    (lambda p: p["model"].update(arch="resnet"), "model.arch"),
    (lambda p: p["model"].update(loss="hinge"), "model.loss"),
    (lambda p: p["split"].update(protocol="random"), "split.protocol"),
    (lambda p: p["split"].update(train=0.8), "must be 1"),
    (lambda p: p["split"].update(test_speakers=["03", "09"]), "both val and test"),
    (lambda p: p["split"].update(val_speakers=["07"]), "unknown speaker"),
    (lambda p: p["train"].update(epocs=3), "train.epocs"),
    (lambda p: p["train"].update(batch_size=0), "train.batch_size"),
    (lambda p: p["augment"].update(stretch_rates=[1.2, 0.8]), "augment.stretch_rates"),
    (lambda p: p["features"].update(frames=151), "multiple of"),
    (lambda p: p.pop("fetch"), "fetch"),
    (lambda p: p["features"].update(denoise=True), "denoise each recording once"),   # augment.denoise is true
    (lambda p: p["compute"].update(scheduler="localhost:8786"), "compute.scheduler"),
    (lambda p: p["ours"].update(feature_counts=[1000, 0]), "ours.feature_counts"),
    (lambda p: p["ours"].update(feature_counts=["some"]), "ours.feature_counts"),
    (lambda p: p["ours"].update(feature_counts=[]), "ours.feature_counts"),
    (lambda p: p["ours"].update(feature_set="MFCC"), "ours.feature_set"),
])
def test_bad_params_name_the_key(tmp_path, change, message):
    with pytest.raises(ParamsError, match=message):
        load_params(_write(tmp_path, change))


def test_speakers_given_as_numbers_become_ids(tmp_path):
    params = load_params(_write(tmp_path, lambda p: p["split"].update(val_speakers=[3, 8])))
    assert params.split.val_speakers == ("03", "08")


def test_missing_file(tmp_path):
    with pytest.raises(ParamsError, match="no such params file"):
        load_params(tmp_path / "nope.yaml")


def test_flatten_gives_plain_values_for_every_key():
    flat = flatten(load_params(REPO / "params.yaml"))
    assert flat["baselines.models.compare.feature_set"] == "ComParE_2016"
    assert flat["cv.variants"] == ["cnn-cce"] and flat["architectures.cnn.filters"] == [16, 32, 64]
    json.dumps(flat)    # what model.json and MLflow store
