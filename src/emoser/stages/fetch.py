"""Stage fetch: get Emo-DB (official URL, a local zip or a local folder), check every file, and
write the wavs plus a manifest to data/raw/.

    python -m emoser.stages.fetch            # reads the ``fetch`` section of params.yaml
"""
from __future__ import annotations

import argparse
import logging

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.corpora.fetching import fetch
from emoser.params.fetch import FetchParams

log = logging.getLogger(__name__)


class Params(Section):
    fetch: FetchParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params).fetch
    report = fetch(params.source, paths.RAW, sha256=params.sha256, timeout_s=params.timeout_s,
                   max_bytes=params.max_archive_mb * 2**20)
    log.info("fetched %d utterances (%d skipped) from %s", report["utterances"], report["skipped"], params.source)


if __name__ == "__main__":
    main()
