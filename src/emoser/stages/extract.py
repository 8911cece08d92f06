"""Stage extract: one extractor (``emoser.features.extractors``: opensmile, embeddings, whisper) on
every original recording of corpus NAME, at its own sample rate -> data/corpora/NAME/EXTRACTOR/.
It reads the extractor's own params section (and ``compute``).

    python -m emoser.stages.extract --corpus emodb --extractor whisper
"""
from __future__ import annotations

import argparse

from emoser.compute.backend import compute_backend
from emoser.core import paths
from emoser.core.config import Section, load_params, read_raw, validate_raw
from emoser.core.files import atomic_dir, original_recordings
from emoser.core.runtime import entry_point
from emoser.features.extractors import EXTRACTORS, get_extractor, write_extracted
from emoser.params.compute import ComputeParams


class Params(Section):
    compute: ComputeParams


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", metavar="NAME", required=True, help="a corpus of params corpora")
    parser.add_argument("--extractor", required=True, help=f"one of {', '.join(EXTRACTORS)}")
    args = parser.parse_args(argv)
    extractor = get_extractor(args.extractor)
    compute = load_params(Params).compute
    # the extractor's own section, validated as a section is (its keys named in errors)
    settings = validate_raw(extractor.params, read_raw().get(extractor.name) or {}, f"params.yaml {extractor.name}")
    corpus = paths.corpus_data(args.corpus)
    manifest, files = original_recordings(corpus.manifest)
    with compute_backend(compute), atomic_dir(corpus.extracted(extractor.name)) as staging:
        write_extracted(extractor, files, manifest["utterance"].tolist(), settings, staging)


if __name__ == "__main__":
    main()
