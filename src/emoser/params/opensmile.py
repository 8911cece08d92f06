"""The openSMILE functional sets stage extract's opensmile extractor stores: the values ``baselines`` and ``ours``
may name (no section of its own)."""
from __future__ import annotations

OPENSMILE_SETS = ("eGeMAPSv02", "ComParE_2016")

