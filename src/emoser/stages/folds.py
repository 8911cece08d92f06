"""Stage folds: the cross-validation folds of every protocol in ``cv.protocols`` -> data/folds.csv.

    python -m emoser.stages.folds
"""
from __future__ import annotations

import argparse
import logging

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_clips, write_csv
from emoser.core.runtime import entry_point
from emoser.params.cv import CvParams
from emoser.protocols.folds import make_folds

log = logging.getLogger(__name__)


class Params(Section):
    cv: CvParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params).cv
    folds = make_folds(read_clips(), params)
    write_csv(paths.FOLDS, folds)
    for protocol in params.protocols:
        part = folds[(folds["protocol"] == protocol) & (folds["subset"] == "test")]
        log.info("%s: %d folds, test sizes %s", protocol, part["fold"].nunique(),
                 part.groupby("fold", sort=False).size().tolist())


if __name__ == "__main__":
    main()
