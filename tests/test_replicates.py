"""Training runs as replicates (issue 25): stage train trains one network per seed, deterministically,
ships the named seed's, and stage evaluate scores every seed."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from conftest import REPO, make_corpus
from emoser.models.networks.precision import training_precision

SR = 8000


def _params(source: str) -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["corpora"]["emodb"]["source"] = source
    params["audio"]["sample_rate"] = SR
    params["augment"].update(pitch_copies=1, stretch_copies=1, jobs=1)
    params["features"].update(n_mfcc=8, n_fft=256, hop_length=128, frames=20, jobs=1)
    params["train"].update(epochs=2, batch_size=16, patience=1, seed=7, replicates=2)
    params["architectures"]["cnn"].update(filters=[4, 8], dense=8)
    params["architectures"]["cnn_lstm"].update(chunks=4, filters=[4], lstm_units=4, dense=8)
    params["compute"].update(threads_per_task=1)
    return params


def _stage(cwd: Path, module: str, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"emoser.stages.{module}", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


def _digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_each_seed_is_a_deterministic_replicate_and_the_named_seed_ships(tmp_path):
    corpus = make_corpus(tmp_path / "corpus", seconds=1.0)
    work = tmp_path / "work"
    work.mkdir()
    (work / "params.yaml").write_text(yaml.safe_dump(_params(str(corpus)), sort_keys=False))
    _stage(work, "fetch", "--corpus", "emodb")
    for stage in ("augment", "features", "split"):
        _stage(work, stage)
    name = ["--name", "study/cnn-cce", "--arch", "cnn", "--loss", "cce"]
    _stage(work, "train", *name)
    model = work / "models/study/cnn-cce"
    first = _digest(model)
    assert sorted(p.name for p in (model / "replicates").iterdir()) == ["seed-7", "seed-8"]
    # what ships is the named seed's network, byte for byte, with its own seed in its facts
    for file in ("model.keras", "normaliser.npz", "model.json", "history.csv", "test_probabilities.csv"):
        assert first[file] == first[f"replicates/seed-7/{file}"], file
    assert first["replicates/seed-7/model.keras"] != first["replicates/seed-8/model.keras"]
    facts = {s: json.loads((model / f"replicates/seed-{s}/model.json").read_text()) for s in (7, 8)}
    assert facts[7]["params"]["train.seed"] == 7 and facts[8]["params"]["train.seed"] == 8
    assert "train.replicates" not in facts[7]["params"]     # how many runs changes no run
    # train.precision: auto is recorded as the arithmetic this machine made the weights in
    assert facts[7]["params"]["train.precision"] == training_precision("auto") != "auto"

    # the same params give the same bytes, every seed
    _stage(work, "train", *name)
    assert _digest(model) == first

    _stage(work, "evaluate", "--name", "study/cnn-cce")
    metrics = json.loads((work / "metrics/study/cnn-cce.json").read_text())
    replicates = metrics["replicates"]
    assert replicates["seeds"] == [7, 8] and replicates["named_seed"] == 7
    assert replicates["per_seed"]["7"]["uar"] == metrics["uar"]      # the named seed's figures are the metrics'
    per_seed = pd.read_csv(work / "plots/study/cnn-cce/replicates.csv", dtype={"clip": str})
    named = pd.read_csv(work / "plots/study/cnn-cce/confusion.csv", dtype={"clip": str})
    assert per_seed.groupby("seed").size().to_dict() == {7: metrics["test_size"], 8: metrics["test_size"]}
    assert per_seed[per_seed["seed"] == 7][["clip", "actual", "predicted"]].reset_index(drop=True).equals(named)
    assert (work / "plots/study/cnn-cce/history.csv").read_bytes() == (model / "history.csv").read_bytes()
    # evaluate scored the probabilities train saved; the networks loaded and run score the same, to the byte
    scored = {p: (work / p).read_bytes() for p in ("metrics/study/cnn-cce.json", "plots/study/cnn-cce/replicates.csv",
                                                   "plots/study/cnn-cce/confusion.csv")}
    for table in model.rglob("test_probabilities.csv"):
        table.rename(table.with_suffix(".kept"))
    _stage(work, "evaluate", "--name", "study/cnn-cce")
    assert {p: (work / p).read_bytes() for p in scored} == scored
    for table in model.rglob("test_probabilities.kept"):
        table.rename(table.with_suffix(".csv"))

    # the shipped model is a copy of the named seed (no replicates of its own: reviews read its twin's)
    _stage(work, "train", "--name", "model", "--copy-of", "study/cnn-cce")
    shipped = _digest(work / "models/model")
    assert set(shipped) == {"model.keras", "normaliser.npz", "model.json", "history.csv", "test_probabilities.csv"}
    assert shipped["test_probabilities.csv"] == first["test_probabilities.csv"]
    assert shipped["model.keras"] == first["model.keras"]
