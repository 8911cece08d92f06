"""Stage cv: the trained variants named in ``cv.variants`` under every ``cv.protocols``.

Each fold trains one model on that fold's training clips (originals and their copies),
stops early on the fold's val recordings and predicts its test recordings, with the same
code as the hold-out ``train``/``evaluate`` stages. Writes every test prediction and the
pooled and per-fold scores; models of the folds are not kept.

    python -m emoser.cv
"""
from __future__ import annotations

import argparse
import logging

import pandas as pd

from . import paths
from .baselines import PREDICTION_COLUMNS
from .cli import stage
from .corpus import EMOTIONS
from .dataset import FeatureSet, assemble, load_clips
from .files import write_csv, write_json
from .folds import fold_names
from .metrics import scored_models, summarise_predictions
from .params import Params, flatten, load_params
from .tracking import log_summary_runs, resolve_tracking_uri
from .train import train_variant

log = logging.getLogger(__name__)


def cross_validate(variant: str, protocol: str, params: Params, clips: pd.DataFrame, feature_set: FeatureSet,
                   folds: pd.DataFrame) -> pd.DataFrame:
    """Test predictions of ``variant`` (e.g. 'cnn-cce') in every fold of ``protocol``."""
    arch, loss = variant.split("-")
    rows = []
    for fold in fold_names(folds, protocol):
        chosen = folds[(folds["protocol"] == protocol) & (folds["fold"] == fold)]
        data = assemble(clips, chosen.set_index("clip")["subset"], feature_set)
        bundle, history = train_variant(f"cv {variant} {protocol} fold {fold}", arch, loss, params,
                                        data["train"], data["val"])
        test = data["test"]
        predicted = bundle.predict_proba(test.features, test.n_frames).argmax(axis=1)
        rows.append(pd.DataFrame({"protocol": protocol, "model": variant, "fold": fold,
                                  "utterance": test.clips["utterance"], "speaker": test.clips["speaker"],
                                  "emotion": test.clips["emotion"],
                                  "predicted": [EMOTIONS[i] for i in predicted],
                                  "epochs_run": len(history)}))
        log.info("cv %s %s fold %s: accuracy %.3f on %d", variant, protocol, fold,
                 (rows[-1]["emotion"] == rows[-1]["predicted"]).mean(), len(test))
    return pd.concat(rows, ignore_index=True)


@stage
def main(argv=None):
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params()
    clips = load_clips()
    feature_set = FeatureSet.load(paths.FEATURE_FILE)
    folds = pd.read_csv(paths.FOLDS, dtype={"fold": str})
    manifest = pd.read_csv(paths.MANIFEST, dtype={"speaker": str})
    tables = [cross_validate(variant, protocol, params, clips, feature_set, folds)
              for variant in params.cv.variants for protocol in params.cv.protocols]
    predictions = (pd.concat(tables, ignore_index=True) if tables
                   else pd.DataFrame(columns=[*PREDICTION_COLUMNS, "epochs_run"]))
    settings = params.evaluate
    summary = summarise_predictions(predictions, settings.bootstrap_resamples, settings.seed, settings.ci_level,
                                    manifest.set_index("utterance")["recognition"])
    if "leaky" in summary:
        summary["leaky"]["warning"] = ("LEAKY protocol: copies of each test recording were trained on; "
                                       "inflated, shown only to measure the inflation")
    write_csv(paths.CV_PREDICTIONS, predictions)
    write_json(paths.METRICS / "cv.json", summary)
    logged = {k: v for k, v in flatten(params).items()
              if k.startswith(("cv.", "train.", "architectures.", "features.", "evaluate."))}
    log_summary_runs(summary, resolve_tracking_uri(params.mlflow.tracking_uri), params.mlflow.experiment,
                     logged, {"kind": "trained"})
    for protocol, model, result in scored_models(summary):
        log.info("%s %s: UAR %.3f, accuracy %.3f (folds: UAR %.3f ± %.3f)", protocol, model,
                 result["pooled"]["uar"], result["pooled"]["accuracy"], result["fold_mean"]["uar"],
                 result["fold_std"]["uar"])


if __name__ == "__main__":
    main()
