"""Stage fetch: get corpus NAME (its official URL, a local zip or folder; for layout csv a table),
check every recording, map its labels, and write the audio plus a manifest to its raw/ folder.

    python -m emoser.stages.fetch --corpus emodb   # params corpora.emodb -> data/corpora/emodb/raw/
"""
from __future__ import annotations

import argparse
import logging
import re

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.runtime import entry_point
from emoser.corpora.fetching import fetch
from emoser.params.corpora import CorpusParams, chosen

log = logging.getLogger(__name__)


class Params(Section):
    corpora: dict[str, CorpusParams]


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    name = parser.parse_args(argv).corpus
    corpus = chosen(load_params(Params).corpora, name)
    try:
        report = fetch(corpus.source, paths.corpus_data(name).raw, layout=corpus.layout, labels=corpus.labels,
                       sha256=corpus.sha256, timeout_s=corpus.timeout_s, max_bytes=corpus.max_archive_mb * 2**20)
    except EmoserError as exc:   # the library names a corpus's settings fetch.KEY; the user wrote corpora.NAME.KEY
        raise EmoserError(re.sub(r"\bfetch\.(source|sha256|max_archive_mb|timeout_s)\b", rf"corpora.{name}.\1",
                                 str(exc))) from None
    log.info("%s: fetched %d utterances (%d skipped) from %s", name, report["utterances"], report["skipped"],
             corpus.source)


if __name__ == "__main__":
    main()
