"""Predict the emotion of new recordings with a trained model.

    emoser predict my.wav other.flac recordings/      # our model (models/served), a table
    emoser predict --json my.wav                      # or --csv, for scripts
    emoser predict --model models/model my.wav        # the shipped network; models/study/… too

Every model reads recordings through one loader (wav, flac, ogg, mp3, aiff at any sample rate
and channel count; other formats are refused by name). Before classifying, a voice-activity
check (``emoser.audio.speech``) measures the voiced speech; with less than ``--min-speech`` seconds
the file gets "no speech found", not an emotion. A batch reports each file on its own row and
goes on; files that could not be read are listed on stderr and make the exit code 2 at the end.

Networks: resampled to the training rate; a recording longer than the training window is scored
in half-overlapping windows whose probabilities are averaged, a shorter one padded. Our model:
read at its own rate, as the stages opensmile and embeddings read the corpus; by default as
stage package exports it (``emoser.serving.served``: numpy only, so one file takes about a second, and
calibrated by stage calibrate), or as stage ours fitted it (``--model models/ours``).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from emoser.audio.io import read_recording, resample
from emoser.audio.recordings import audio_files, sounding, windows
from emoser.audio.speech import DEFAULT_MIN_SPEECH_S
from emoser.core import paths
from emoser.core.errors import EmoserError
from emoser.core.runtime import entry_point
from emoser.serving.adaptation import DEFAULT_MIN_RECORDINGS, adapt_rows, read_speakers, speakers_of
from emoser.serving.classification import (
    DEFAULT_MAX_NO_SPEECH,
    DEFAULT_SEGMENT_OVER_S,
    Screening,
    classify_recording,
    plain,
)
from emoser.serving.no_speech import NoSpeech
from emoser.serving.served import FOLDER as SERVED
from emoser.serving.served import check_finite
from emoser.serving.silero import SpeechDetector

if TYPE_CHECKING:
    from emoser.models.networks.architectures import Bundle

OURS = SERVED


def predict_signal(bundle: Bundle, signal: np.ndarray, rate: int) -> np.ndarray:
    """A network's class probabilities for one recording, averaged over its windows."""

    from emoser.audio.io import denoise
    from emoser.features.frames import extract
    from emoser.params.features import FeatureParams

    sample_rate = bundle.facts["sample_rate"]
    # a network saved before features.energy existed used per-frame log energy
    params = FeatureParams.model_validate({"energy": "log", **bundle.facts["features"]})
    if rate != sample_rate:   # as librosa.load(sr=...) in training
        signal = resample(signal, rate, sample_rate)
    if bundle.facts.get("params", {}).get("augment.denoise", False):   # trained on denoised recordings
        signal = denoise(signal, sample_rate)
    window = params.frames * params.hop_length
    feats, frames = zip(*(extract(w, sample_rate, params) for w in sounding(windows(signal, window, params.n_fft))))
    return bundle.predict_proba(np.stack(feats), np.array(frames)).mean(axis=0)


def predict_file(bundle: Bundle, path: Path) -> np.ndarray:
    return predict_signal(bundle, *read_recording(path))


class OursPredictor:
    """Our model with the feature extractors of its views (``emoser.features.views``), set up once
    for many files."""

    def __init__(self, model):
        from emoser.features.views import view

        self.model = model
        self.views = {v: view(v) for v, w in model.weights.items() if w > 0}   # a view weighted 0 adds nothing
        self.extractors = {name: v.extractor(model.facts) for name, v in self.views.items()}

    def predict_signal(self, signal: np.ndarray, rate: int, path: Path | str) -> np.ndarray:
        """Class probabilities for one recording at its own rate, as in training (each view's stage),
        averaged over windows as long as the longest training recording."""
        parts = sounding(windows(signal, int(self.model.facts["window_s"] * rate), 0))
        views = {name: np.stack([v.compute(self.extractors[name], part, rate, self.model.facts) for part in parts])
                 for name, v in self.views.items()}
        check_finite(views, signal, rate, path)
        return self.model.predict_proba(views).mean(axis=0)


class Predictor(NamedTuple):
    predict: Callable[[np.ndarray, int, str], np.ndarray]    # (signal, rate, name) -> class probabilities
    emotions: list[str]                                      # what the probabilities are for
    name: str                                                # the model's name in each row
    forkable: bool                                           # safe to share among forked processes
    no_speech: Callable[[np.ndarray, int], float]            # Whisper's no-speech probability (its check)
    speech: Callable[[np.ndarray, int], float] | None = None  # Silero's speech seconds (its check)


def load_predictor(folder: Path) -> Predictor:
    from emoser.serving.served import ARRAYS

    if (folder / ARRAYS).is_file():   # models/served: numpy only, calibrated
        from emoser.serving.served import ServedModel

        served = ServedModel(folder)
        return Predictor(served.predict_signal, served.emotions, served.facts["model"], True, served.no_speech,
                         served.speech)
    from emoser.models.classical.fusion import FusionModel

    if (folder / FusionModel.FILE).is_file():   # models/ours: scikit-learn and torch, uncalibrated
        ours = OursPredictor(FusionModel.load(folder))
        return Predictor(ours.predict_signal, ours.model.facts["emotions"], ours.model.facts["model"], False,
                         NoSpeech(), SpeechDetector())
    from emoser.models.networks.saved import MODEL_FILE

    if not (folder / MODEL_FILE).is_file():   # said before TensorFlow starts (~5 s)
        raise EmoserError(f"{folder}: no trained model here (run `dvc repro` or pass --model)")
    from emoser.models.networks.architectures import Bundle  # TensorFlow: imported only for the networks

    bundle = Bundle.load(folder)
    name = folder.relative_to(paths.MODELS).as_posix() if folder.is_relative_to(paths.MODELS) else str(folder)
    return Predictor(lambda signal, rate, path: predict_signal(bundle, signal, rate), bundle.facts["emotions"], name,
                     False, NoSpeech(), SpeechDetector())


def adaptable(folder: Path):
    """The served model at ``folder`` with its adapted twin; one error naming the option otherwise."""
    from emoser.serving.served import ARRAYS, ServedModel

    if not (folder / ARRAYS).is_file():
        raise EmoserError(f"--adapt: {folder} is not a served model (models/served: stage package)")
    served = ServedModel(folder)
    if served.adapted is None:
        raise EmoserError(f"--adapt: {folder} has no adapted twin (packaged before it: dvc repro fit package)")
    return served


def classify_file(path: Path, predict, emotions: list[str], model: str, screening: Screening
                  ) -> tuple[list[dict], str | None]:
    """The file's rows (the whole file's, then its segments' when it is long): the emotion and its
    probabilities, or why there is none; and its error, if any."""
    return classify_recording(str(path), lambda: read_recording(path), predict, emotions, model, screening)


_TASK: tuple = ()   # what forked workers classify with (set before the pool forks)


def _one_blas_thread() -> None:
    """Per worker: the processes share the cores; BLAS threads on top of them only contend (2x slower)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _classify_in_worker(path: Path) -> tuple[list[dict], str | None]:
    return classify_file(path, *_TASK)


def classify(files: list[Path], predict, emotions: list[str], model: str, screening: Screening = Screening(),
             jobs: int = 1) -> tuple[list[dict], list[str]]:
    """The rows of every file, in order, and the errors. With ``jobs`` > 1, files are shared among
    that many forked processes (each a copy of the loaded model: no start-up per worker)."""
    global _TASK
    if jobs > 1 and len(files) > jobs:
        import multiprocessing

        _TASK = (predict, emotions, model, screening)
        with multiprocessing.get_context("fork").Pool(jobs, initializer=_one_blas_thread) as pool:
            results = pool.map(_classify_in_worker, files, chunksize=max(1, len(files) // (8 * jobs)))
    else:
        results = [classify_file(path, predict, emotions, model, screening) for path in files]
    return [row for rows, _ in results for row in rows], [error for _, error in results if error]


def _cell(value, number: str, missing: str) -> str:
    if plain(value) is None:
        return missing
    return number.format(value) if isinstance(value, float) else str(value)


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="audio files or folders")
    parser.add_argument("--model", type=Path, default=OURS,
                        help="a trained model folder: models/served (default: our model, calibrated), models/ours "
                             "(the same, uncalibrated, through scikit-learn and torch), models/model, models/study/…")
    parser.add_argument("--min-speech", type=float, default=DEFAULT_MIN_SPEECH_S, metavar="SECONDS",
                        help=f"voiced speech needed to classify a file (default {DEFAULT_MIN_SPEECH_S:g}; 0: always)")
    parser.add_argument("--max-no-speech", type=float, default=DEFAULT_MAX_NO_SPEECH, metavar="P",
                        help="refuse what Whisper hears as no speech with this probability or more "
                             f"(default {DEFAULT_MAX_NO_SPEECH:g}; 1: never)")
    parser.add_argument("--segment-over", type=float, default=DEFAULT_SEGMENT_OVER_S, metavar="SECONDS",
                        help="a longer file is also answered per voiced segment, with start and end "
                             f"(default {DEFAULT_SEGMENT_OVER_S:g}; 0: never)")
    parser.add_argument("--jobs", type=int, default=-1, metavar="N",
                        help="processes sharing a batch (default -1: one per core; the served model only)")
    parser.add_argument("--adapt", action="store_true",
                        help="the files are one set-up (microphone, room, language): answer from features "
                             "standardised over the batch (models/served only; ~2x the time)")
    parser.add_argument("--adapt-min", type=int, default=DEFAULT_MIN_RECORDINGS, metavar="N",
                        help=f"fewer recordings with speech: not adapted, a note (default {DEFAULT_MIN_RECORDINGS})")
    parser.add_argument("--speakers", type=Path, metavar="CSV",
                        help="with --adapt: each file's speaker (or session), columns file (its name) and speaker; "
                             "each speaker's files standardised over their own, unless the batch's answers depend "
                             "on who speaks (a guard: docs/predict.md)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines: one object per file")
    output.add_argument("--csv", action="store_true", help="CSV with a column per emotion")
    args = parser.parse_args(argv)
    if args.speakers is not None and not args.adapt:
        parser.error("--speakers adapts per speaker: add --adapt")
    files = audio_files(args.inputs)
    speakers = speakers_of(files, read_speakers(args.speakers), args.speakers) if args.speakers is not None else None
    predictor = load_predictor(args.model)
    emotions = predictor.emotions
    jobs = (len(os.sched_getaffinity(0)) if args.jobs == -1 else args.jobs) if predictor.forkable else 1
    screening = Screening(args.min_speech, args.max_no_speech, args.segment_over, predictor.no_speech,
                          predictor.speech)
    rows, errors = classify(files, predictor.predict, emotions, predictor.name, screening, jobs)
    if args.adapt:
        rows = adapt_rows(rows, adaptable(args.model), lambda name: read_recording(Path(name)), args.adapt_min,
                          speakers)
    if args.json:
        for row in rows:
            print(json.dumps({"file": row["file"], "model": row["model"], "start": row["start"], "end": row["end"],
                              "emotion": row["emotion"],
                              "probabilities": ({e: round(row[e], 4) for e in emotions} if row["emotion"] else None),
                              "speech_s": plain(row["speech_s"]), "voiced_s": plain(row["voiced_s"]),
                              "no_speech": plain(row["no_speech"]),
                              "note": row["note"]}, allow_nan=False))
    elif args.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(rows[0].keys())
        writer.writerows([_cell(v, "{:.4f}", "") for v in row.values()] for row in rows)
    else:
        columns = [c for c in rows[0] if c != "note"]
        cells = [columns] + [[_cell(row[c], "{:.3f}", "—") for c in columns] for row in rows]
        widths = [max(len(line[i]) for line in cells) for i in range(len(columns))]
        for line in cells:
            print(" ".join(cell.rjust(width) for cell, width in zip(line, widths)))
        for row in rows:
            if row["note"]:
                print(f"{row['file']}: {row['note']}")
    if errors:
        for error in errors:
            print(f"emoser predict: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
