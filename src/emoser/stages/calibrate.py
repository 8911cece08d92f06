"""Stage calibrate: how well our model's probabilities are calibrated under LOSO, before and after
temperature scaling fitted inside the folds (emoser.models.classical.calibration), on the networks'
corpus (``roles.networks``) -> data/study/NAME/cv/
ours_calibration.csv, calibration.json (with the served model's temperature, read by stage package;
stage report publishes it as metrics/calibration.json).

    python -m emoser.stages.calibrate
"""
from __future__ import annotations

import argparse

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_weights, write_csv, write_json
from emoser.core.runtime import entry_point
from emoser.evaluation.predictions import load_recordings_and_folds
from emoser.features.views import load_views
from emoser.models.classical.calibration import run_calibration, summarise
from emoser.params.corpora import RolesParams
from emoser.params.ours import OursParams


class Params(Section):
    ours: OursParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    corpus = paths.corpus_data(params.roles.networks)
    manifest, table = load_recordings_and_folds(corpus)
    views = load_views(corpus, params.ours, manifest["utterance"])
    calibration = run_calibration(manifest, views, table, params.ours, params.ours.calibration,
                                  read_weights(corpus.ours_weights), params.ours.jobs)
    write_csv(corpus.ours_calibration, calibration)
    write_json(corpus.calibration_summary, summarise(calibration, params.ours.calibration))


if __name__ == "__main__":
    main()
