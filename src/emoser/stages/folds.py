"""Stage folds: corpus NAME's protocols over its original recordings -> data/study/NAME/folds.csv,
what the classical models (baselines, ours, calibrate) are scored under. Every corpus: LOSO. The
networks' corpus (``roles.networks``) also every leak-free protocol of ``cv.protocols`` and the
hold-out split (``split``): the same folds the networks train in (stage cv, stage split), restricted
to the recordings, so that every model is compared on the same test sets.

    python -m emoser.stages.folds --corpus NAME
"""
from __future__ import annotations

import argparse
import logging

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import read_manifest, write_csv
from emoser.core.runtime import entry_point
from emoser.params.corpora import RolesParams
from emoser.params.cv import CvParams
from emoser.params.split import SplitParams
from emoser.protocols.folds import recording_folds

log = logging.getLogger(__name__)


class Params(Section):
    cv: CvParams
    split: SplitParams
    roles: RolesParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    name = parser.parse_args(argv).corpus
    params = load_params(Params)
    corpus = paths.corpus_data(name)
    networks = name == params.roles.networks
    try:
        folds = recording_folds(read_manifest(corpus.manifest), params.cv, params.split if networks else None,
                                networks)
    except EmoserError as exc:   # the protocols name a corpus's key corpora.NAME; this one is known
        raise EmoserError(f"corpus {name}: {exc}".replace("corpora.NAME.", f"corpora.{name}.")) from None
    write_csv(corpus.folds, folds)
    for protocol, part in folds[folds["subset"] == "test"].groupby("protocol", sort=False):
        log.info("%s: %d folds, test sizes %s", protocol, part["fold"].nunique(),
                 part.groupby("fold", sort=False).size().tolist())


if __name__ == "__main__":
    main()
