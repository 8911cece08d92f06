"""Stage report: reports/results.md (every model under every protocol, figures, of the networks'
corpus ``roles.networks``) and reports/headline.md, the results table the README shows (copied
between its markers), and metrics/headline.json, per protocol x model: UAR, accuracy, intervals, n
(the metrics DVC diffs).

First it publishes the networks' corpus's cached summaries of cv, baselines, ours and calibrate
(data/study/NAME/cv/*.json) as their git-tracked copies in metrics/ (``CorpusData.published``),
byte for byte: those stages then have no `cache: false` output and keep DVC's run cache (going back
to a setting restores them, no retraining).

    python -m emoser.stages.report
"""
from __future__ import annotations

import argparse
import logging
import shutil
from pathlib import Path

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.files import atomic_path, write_json
from emoser.core.runtime import entry_point
from emoser.corpora.layouts import get_layout
from emoser.params.corpora import CorpusParams, RolesParams, chosen, corpus_title
from emoser.params.cv import CvParams
from emoser.params.evaluate import EvaluateParams
from emoser.params.split import SplitParams
from emoser.reporting.readme import update_results
from emoser.reporting.report import build_report
from emoser.reporting.results import HEADLINE_METRICS

log = logging.getLogger(__name__)
README = Path("README.md")


class Params(Section):
    corpora: dict[str, CorpusParams]
    roles: RolesParams
    split: SplitParams
    evaluate: EvaluateParams
    cv: CvParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    params = load_params(Params)
    name = params.roles.networks
    corpus, settings = paths.corpus_data(name), chosen(params.corpora, name)
    for source, target in corpus.published().items():
        if source.exists():
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
    page, headline, metrics = build_report(params.split.protocol, params.cv, params.evaluate, corpus,
                                           corpus_title(name, settings), get_layout(settings.layout).gloss)
    write_json(HEADLINE_METRICS, metrics)
    for path, text in ((paths.REPORT, page), (paths.HEADLINE, headline + "\n")):
        with atomic_path(path) as tmp:
            tmp.write_text(text)
        log.info("wrote %s", path)
    if README.exists() and update_results(README, headline):
        log.info("updated the results table in %s", README)


if __name__ == "__main__":
    main()
