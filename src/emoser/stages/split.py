"""Stage split: assign every clip of the networks' corpus (``roles.networks``) to train, val, test or
unused under ``split.protocol`` -> data/study/NAME/split.csv.

    python -m emoser.stages.split
"""
from __future__ import annotations

import argparse
import logging

import pandas as pd

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import read_clips, write_csv
from emoser.core.runtime import entry_point
from emoser.params.corpora import RolesParams
from emoser.params.split import SplitParams
from emoser.protocols.split import assign_subsets, summarise

log = logging.getLogger(__name__)


class Params(Section):
    split: SplitParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    loaded = load_params(Params)
    params, corpus = loaded.split, paths.corpus_data(loaded.roles.networks)
    clips = read_clips(corpus.clips)
    try:
        subset = assign_subsets(clips, params)
    except EmoserError as exc:   # the protocols name a corpus's key corpora.NAME; this one is known
        raise EmoserError(f"corpus {corpus.name}: {exc}".replace("corpora.NAME.", f"corpora.{corpus.name}.")) from None
    write_csv(corpus.split, pd.DataFrame({"clip": subset.index, "subset": subset.to_numpy()}))
    for name, facts in summarise(clips, subset).items():
        log.info("%s (%s): %d clips, %d utterances, speakers %s", name, params.protocol, facts["clips"],
                 facts["utterances"], ",".join(facts["speakers"]))


if __name__ == "__main__":
    main()
