"""The evaluation protocols' names, and what a leaky result must say: one source of truth.

Hold-out splits (``split.protocol``): ``utterance``, ``speaker`` and ``leaky`` (the student
report's protocol). Cross-validation (``cv.protocols``): ``loso``, ``kfold`` and ``leaky``.
"""
from __future__ import annotations

LEAKY = "leaky"
HOLDOUT = "holdout"          # the hold-out split's block in a predictions summary
SUBSETS = ("train", "val", "test")
LEAKY_WARNING = ("LEAKY protocol: copies of each test recording were trained on; "
                 "inflated, shown only to measure the inflation")
