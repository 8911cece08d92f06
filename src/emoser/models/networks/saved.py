"""A trained network's folder on disk (``models/NAME/``): its file names, its facts, and a copy
that does not load the network. No TensorFlow: stage ``train`` copies the shipped model from its
study twin without starting it (``emoser.models.networks.architectures.Bundle`` reads and writes the same files).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from emoser.core.files import atomic_path

MODEL_FILE = "model.keras"     # the Keras network (saved reproducibly: emoser.models.networks.architectures)
STATS_FILE = "normaliser.npz"  # its input normaliser's statistics
FACTS_FILE = "model.json"      # normalisation, arch, loss, emotions, sample rate, feature params, ...
HISTORY_FILE = "history.csv"   # its training curve, one row per epoch (stage evaluate publishes it under plots/)
TEST_PROBABILITIES = "test_probabilities.csv"   # clip, then each emotion's probability on the test clips
REPLICATES = "replicates"      # models/NAME/replicates/seed-S/: every seed's network (NAME itself: the named seed's)
REPLICATES_FILE = "replicates.csv"  # plots/NAME/replicates.csv: every seed's test predictions (stage evaluate)


def replicate_folder(model: Path, seed: int) -> Path:
    return model / REPLICATES / f"seed-{seed}"


def replicate_seeds(model: Path) -> list[int]:
    """The seeds of the replicates saved under ``model``, ascending (none for a copied, shipped model)."""
    return sorted(int(p.name.removeprefix("seed-")) for p in (model / REPLICATES).glob("seed-*") if p.is_dir())


def read_facts(folder: Path) -> dict:
    return json.loads((folder / FACTS_FILE).read_text())


def copy_saved(source: Path, target: Path, **facts) -> None:
    """``source``'s saved network as ``target``, with ``facts`` replaced (each must be there already)."""
    saved = read_facts(source)
    if unknown := set(facts) - set(saved):
        raise ValueError(f"{source / FACTS_FILE} has no {sorted(unknown)}")
    target.mkdir(parents=True, exist_ok=True)
    for name in (MODEL_FILE, STATS_FILE, HISTORY_FILE, TEST_PROBABILITIES):
        if name in (HISTORY_FILE, TEST_PROBABILITIES) and not (source / name).exists():   # saved before these
            continue
        with atomic_path(target / name) as tmp:
            shutil.copyfile(source / name, tmp)
    with atomic_path(target / FACTS_FILE) as tmp:
        tmp.write_text(json.dumps({**saved, **facts}, indent=2) + "\n")
