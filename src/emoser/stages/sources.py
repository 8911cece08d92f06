"""Stage sources: what each corpus's source holds now (every local file's sha256), so that editing a
local table or replacing a recording reruns fetch (emoser.corpora.sources). DVC runs it every time
(``always_changed``; its own pipeline file, pipelines/sources/dvc.yaml, so that its run rewrites only its own
small lock); fetch@NAME reruns only when data/sources/NAME.json changes.

    python -m emoser.stages.sources     # params corpora -> data/sources/NAME.json
"""
from __future__ import annotations

import argparse
import logging

from emoser.core.config import Section, load_params
from emoser.core.runtime import entry_point
from emoser.corpora.sources import SOURCES, write_descriptions
from emoser.params.corpora import CorpusParams

log = logging.getLogger(__name__)


class Params(Section):
    corpora: dict[str, CorpusParams]


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter).parse_args(argv)
    corpora = load_params(Params).corpora
    write_descriptions({name: (c.source, c.layout) for name, c in corpora.items()}, SOURCES)
    log.info("described %d corpus sources in %s", len(corpora), SOURCES)


if __name__ == "__main__":
    main()
