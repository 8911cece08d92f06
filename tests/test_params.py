import json
from pathlib import Path

import pytest
import yaml

from conftest import REPO
from emoser.core.config import ParamsError, flatten
from emoser.params.file import load_all as load_params


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
    # the same keys and values from the file as read (stage track logs summaries' params this way)
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    validated = flatten(params)
    assert len(flatten(raw)) > 60 and all(validated[key] == value for key, value in flatten(raw).items())
    assert flatten({"a": {"b": [1, 2], "c": {"d": None}}, "e": {}}) == {"a.b": [1, 2], "a.c.d": None}


@pytest.mark.parametrize("key, value, message", [
    ("train.epochs", True, "train.epochs: expected int, got True (YAML reads yes/no/on/off as true/false)"),
    ("compute.tasks", "4", "compute.tasks: expected int, got the text '4'"),
    ("architectures.cnn_lstm.lstm_units", "64",
     "architectures.cnn_lstm.lstm_units: expected int or list, got the text"),
    ("ours.feature_counts", [1000, "all", "5"], "ours.feature_counts.2: expected 'all' or int, got the text '5'"),
    ("augment.stretch_rates", [0.8, True], "augment.stretch_rates.1: expected float, got True"),
    ("corpora.emodb.sha256", 5, "corpora.emodb.sha256: expected str, got 5"),
    ("train.epochs", 0, "train.epochs: Input should be greater than or equal to 1"),
])
def test_strict_mode_names_the_key_the_kind_it_takes_and_what_it_got(tmp_path, key, value, message):
    def change(raw):
        section, *rest = key.split(".")
        place = raw[section]
        for part in rest[:-1]:
            place = place[part]
        place[rest[-1]] = value
    with pytest.raises(ParamsError) as err:
        load_params(_write(tmp_path, change))
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("change, message", [
    (lambda p: p["model"].update(arch="resnet"), "model.arch"),
    (lambda p: p["model"].update(loss="hinge"), "model.loss"),
    (lambda p: p["split"].update(protocol="random"), "split.protocol"),
    (lambda p: p["split"].update(train=0.8), "must be 1"),
    (lambda p: p["split"].update(test_speakers=["03", "09"]), "both val and test"),
    (lambda p: p["train"].update(epocs=3), "train.epocs"),
    (lambda p: p["train"].update(batch_size=0), "train.batch_size"),
    (lambda p: p["augment"].update(stretch_rates=[1.2, 0.8]), "augment.stretch_rates"),
    (lambda p: p["features"].update(frames=151), "multiple of"),
    (lambda p: p.pop("corpora"), "corpora"),
    (lambda p: p["roles"].update(networks="iemocap"), "roles.networks: 'iemocap' is not in corpora"),
    (lambda p: p["roles"].update(ours=["emodb", "iemocap"]), "roles.ours: 'iemocap' is not in corpora"),
    (lambda p: p["loco"].update(adaptation=["session"]), "loco.adaptation"),
    (lambda p: p["corpora"]["emodb"].pop("timeout_s"), "corpora.emodb.timeout_s"),
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


def test_our_model_reads_only_whisper_layers_the_stage_stores(tmp_path):
    def fewer(raw):
        raw["whisper"]["layers"] = [0, 1]
        raw["ours"]["whisper_layers"] = [1, 3]
    with pytest.raises(ParamsError, match=r"ours.whisper_layers: layer\(s\) \[3\] are not in whisper.layers \[0, 1\]"):
        load_params(_write(tmp_path, fewer))

    def unused(raw):
        fewer(raw)
        raw["ours"]["fusion"]["views"] = ["compare", "voice"]
    assert load_params(_write(tmp_path, unused)).ours.fusion.views == ("compare", "voice")


def test_the_files_params_yaml_names_exist():
    # its comments point readers at code and docs: a file named there that is gone is drift
    import re

    text = (REPO / "params.yaml").read_text()
    named = set(re.findall(r"\b((?:src|docs|tests|benchmarks|tools)/[\w./-]+\.(?:py|md))", text))
    assert named, "params.yaml names no file: the pattern no longer reads it"
    assert not [f for f in sorted(named) if not (REPO / f).is_file()]
