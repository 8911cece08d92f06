"""Stage split: assign every clip to train, val, test or unused under ``split.protocol``
-> data/split.csv.

    python -m emoser.stages.split
"""
from __future__ import annotations

import argparse
import logging

import pandas as pd

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_clips, write_csv
from emoser.core.runtime import entry_point
from emoser.params.split import SplitParams
from emoser.protocols.split import assign_subsets, summarise

log = logging.getLogger(__name__)


class Params(Section):
    split: SplitParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params).split
    clips = read_clips()
    subset = assign_subsets(clips, params)
    write_csv(paths.SPLIT, pd.DataFrame({"clip": subset.index, "subset": subset.to_numpy()}))
    for name, facts in summarise(clips, subset).items():
        log.info("%s (%s): %d clips, %d utterances, speakers %s", name, params.protocol, facts["clips"],
                 facts["utterances"], ",".join(facts["speakers"]))


if __name__ == "__main__":
    main()
