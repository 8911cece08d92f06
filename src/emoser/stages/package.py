"""Stage package: our model (models/ours) with its calibration temperature (stage fit's)
and the speech check's Silero VAD as plain arrays for serving, with the limits of one request
(params ``mlflow.serve``) -> models/served/ (emoser.serving.export; read by emoser.serving.served:
what ``emoser predict`` and the MLflow model answer with).

    python -m emoser.stages.package
"""
from __future__ import annotations

import argparse

import numpy as np

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import atomic_path, write_json
from emoser.core.runtime import entry_point
from emoser.models.classical.fusion import FusionModel
from emoser.params.mlflow import ServeOnly
from emoser.serving.export import (
    adapted_arrays,
    encoder_arrays,
    facts,
    model_arrays,
    served_temperature,
    speech_arrays,
)
from emoser.serving.served import ARRAYS, FACTS, FOLDER


class Params(Section):
    mlflow: ServeOnly


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    model = FusionModel.load(paths.OURS_MODEL)
    params = load_params(Params)
    temperature = served_temperature(model, paths.OURS_MODEL)
    FOLDER.mkdir(parents=True, exist_ok=True)
    twin, twin_facts = adapted_arrays(paths.OURS_MODEL / "adapted")
    with atomic_path(FOLDER / ARRAYS) as tmp, open(tmp, "wb") as out:
        np.savez(out, **{**model_arrays(model), **encoder_arrays(model), **speech_arrays(), **twin})  # type: ignore[arg-type]
    write_json(FOLDER / FACTS, {**facts(model, temperature), "limits": params.mlflow.serve.model_dump(),
                                **({"adapted": twin_facts} if twin_facts else {})})


if __name__ == "__main__":
    main()
