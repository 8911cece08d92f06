"""Cross-validating the trained networks: a variant trained and tested in every fold (stage cv).

Each fold trains one model on that fold's training clips (originals and their copies),
stops early on the fold's val recordings and predicts its test recordings, with the same
code as the hold-out ``train``/``evaluate`` stages. Writes every test prediction and the
pooled and per-fold scores; models of the folds are not kept.
"""
from __future__ import annotations

import logging

import pandas as pd

from .corpus import EMOTIONS
from .dataset import FeatureSet, assemble
from .folds import fold_names
from .training import TrainParams, train_variant
from .variants import ArchitectureParams

log = logging.getLogger(__name__)


def cross_validate(variant: str, protocol: str, settings: TrainParams, architectures: ArchitectureParams,
                   normalisation: str, clips: pd.DataFrame, feature_set: FeatureSet, folds: pd.DataFrame
                   ) -> pd.DataFrame:
    """Test predictions of ``variant`` (e.g. 'cnn-cce') in every fold of ``protocol``."""
    arch, loss = variant.split("-")
    rows = []
    for fold in fold_names(folds, protocol):
        chosen = folds[(folds["protocol"] == protocol) & (folds["fold"] == fold)]
        data = assemble(clips, chosen.set_index("clip")["subset"], feature_set)
        bundle, history = train_variant(f"cv {variant} {protocol} fold {fold}", arch, loss, settings, architectures,
                                        normalisation, data["train"], data["val"])
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

