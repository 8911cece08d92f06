"""Stage track: the MLflow store gets a run for every evaluated network and every cross-validated,
classical and own model that it lacks (keyed by a hash of the outputs, so never twice)
-> mlruns/synced.json.

    python -m emoser.stages.track

Its marker lives beside the local store and is in neither git nor DVC's run cache (dvc.yaml:
``cache: false``, ``persist: true``): a fresh clone runs this stage even when every other stage
is skipped, also when it shares another clone's DVC cache, so its store always ends up complete.
"""
from __future__ import annotations

import argparse
import logging

from emoser.core.config import Section, load_params, read_raw
from emoser.core.runtime import entry_point
from emoser.params.mlflow import MlflowParams
from emoser.protocols.names import HOLDOUT
from emoser.tracking.runs import SYNCED, experiment_name, sync, ui_path
from emoser.tracking.store import resolve_tracking_uri

log = logging.getLogger(__name__)


class Params(Section):
    mlflow: MlflowParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    uri = resolve_tracking_uri(params.mlflow.tracking_uri)
    raw = read_raw()
    logged, present = sync(raw, uri, params.mlflow.experiment, SYNCED)
    log.info("MLflow (%s): %d runs logged, %d already there", uri, logged, present)
    holdout = experiment_name(params.mlflow.experiment, raw["roles"]["networks"], HOLDOUT)
    if (page := ui_path(uri, holdout)) is not None:
        log.info("`mlflow ui --backend-store-uri %s`, then %s opens %s on its training runs (or pick "
                 "'Model training' at the top left once)", uri, f"http://127.0.0.1:5000{page}", holdout)


if __name__ == "__main__":
    main()
