"""Stage folds: the cross-validation folds of every protocol in ``cv.protocols`` -> data/folds.csv;
a further corpus's LOSO folds over its original recordings -> data/corpora/NAME/folds.csv.

    python -m emoser.stages.folds [--corpus NAME]
"""
from __future__ import annotations

import argparse
import logging

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import read_clips, read_manifest, write_csv
from emoser.core.runtime import entry_point
from emoser.params.cv import CvParams
from emoser.protocols.folds import make_folds

log = logging.getLogger(__name__)


class Params(Section):
    cv: CvParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--corpus", help="a further corpus (params corpora.NAME); default: the main one")
    name = parser.parse_args(argv).corpus
    params = load_params(Params).cv
    corpus = paths.corpus_data(name)
    if name is None:
        folds = make_folds(read_clips(), params)
    else:   # no augmentation: the recordings are the clips; scored by the classical models under LOSO
        params = params.model_copy(update={"protocols": ("loso",)})
        manifest = read_manifest(corpus.manifest)
        folds = make_folds(manifest.assign(clip=manifest["utterance"], kind="original"), params)
    write_csv(corpus.folds, folds)
    for protocol in params.protocols:
        part = folds[(folds["protocol"] == protocol) & (folds["subset"] == "test")]
        log.info("%s: %d folds, test sizes %s", protocol, part["fold"].nunique(),
                 part.groupby("fold", sort=False).size().tolist())


if __name__ == "__main__":
    main()
