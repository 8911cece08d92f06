"""Stage fetch: get a corpus (its official URL, a local zip or folder; for layout csv a table), check
every recording, map its labels, and write the audio plus a manifest to its raw/ folder.

    python -m emoser.stages.fetch                   # the main corpus: params ``fetch`` -> data/raw/
    python -m emoser.stages.fetch --corpus ravdess  # params ``corpora.ravdess`` -> data/corpora/ravdess/raw/

A further corpus takes ``timeout_s`` and ``max_archive_mb`` from ``fetch``.
"""
from __future__ import annotations

import argparse
import logging

from pydantic import Field

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.runtime import entry_point
from emoser.corpora.fetching import fetch
from emoser.params.fetch import CorpusParams, FetchParams

log = logging.getLogger(__name__)


class Params(Section):
    fetch: FetchParams
    corpora: dict[str, CorpusParams] = Field(default_factory=dict)


def chosen(params: Params, name: str | None) -> CorpusParams:
    """The params of corpus ``name`` (None: the main corpus)."""
    if name is None:
        return params.fetch
    if name == params.fetch.corpus:
        raise EmoserError(f"{name} is the main corpus (fetch.corpus): run the stage without --corpus")
    if name not in params.corpora:
        raise EmoserError(f"corpora.{name}: no such corpus in params.yaml "
                          f"(corpora has {', '.join(params.corpora) or 'none'})")
    return params.corpora[name]


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", metavar="NAME", help="a further corpus of params corpora (default: the main one)")
    args = parser.parse_args(argv)
    params = load_params(Params)
    corpus = chosen(params, args.corpus)
    report = fetch(corpus.source, paths.corpus_data(args.corpus).raw, layout=corpus.layout, labels=corpus.labels,
                   sha256=corpus.sha256, timeout_s=params.fetch.timeout_s,
                   max_bytes=params.fetch.max_archive_mb * 2**20)
    log.info("fetched %d utterances (%d skipped) from %s", report["utterances"], report["skipped"], corpus.source)


if __name__ == "__main__":
    main()
