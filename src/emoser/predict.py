"""Predict the emotion of new recordings with a trained model.

    emoser predict my.wav other.flac recordings/      # our model (models/ours), a table
    emoser predict --json my.wav                      # or --csv, for scripts
    emoser predict --model models/model my.wav        # the shipped network; models/study/… too

Every model reads recordings through one loader (wav, flac, ogg, mp3, aiff at any sample rate
and channel count; other formats are refused by name). Before classifying, a voice-activity
check (``emoser.speech``) measures the voiced speech; with less than ``--min-speech`` seconds
the file gets "no speech found", not an emotion. A batch reports each file on its own row and
goes on; files that could not be read are listed on stderr and make the exit code 2 at the end.

Networks: resampled to the training rate; a recording longer than the training window is scored
in half-overlapping windows whose probabilities are averaged, a shorter one padded. Our model:
read at its own rate, as the stages opensmile and embeddings read the corpus.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import paths
from .errors import EmoserError
from .runtime import entry_point
from .speech import DEFAULT_MIN_SPEECH_S, voiced_seconds

if TYPE_CHECKING:
    from .networks import Bundle

READABLE = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif")     # libsndfile reads these
UNSUPPORTED = (".m4a", ".mp4", ".aac", ".wma", ".opus", ".webm")  # listed in folders, refused by name
OURS = paths.OURS_MODEL


def audio_files(inputs: list[str]) -> list[Path]:
    """The files named, and in folders every file whose suffix is audio (also unsupported audio,
    so that it is reported rather than skipped)."""
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in READABLE + UNSUPPORTED)
            if not found:
                raise EmoserError(f"{item}: no audio files in this folder ({', '.join(READABLE)})")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise EmoserError(f"{item}: no such file or folder")
    return files


def read_recording(path: Path) -> tuple[np.ndarray, int]:
    """Mono float32 at the file's own rate, for every model: one clear error per kind of bad file."""
    import soundfile as sf

    if path.suffix.lower() not in READABLE:
        raise EmoserError(f"{path}: unsupported format {path.suffix or '(no suffix)'!r}; "
                          f"readable: {', '.join(READABLE)} (convert it, e.g. with ffmpeg)")
    try:
        signal, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as exc:  # soundfile raises several types for unreadable audio
        raise EmoserError(f"{path}: cannot read audio ({exc})") from None
    if not len(signal):
        raise EmoserError(f"{path}: holds no audio samples")
    if not np.isfinite(signal).all():
        raise EmoserError(f"{path}: holds NaN or infinite samples")
    return signal.mean(axis=1), int(rate)


def windows(signal: np.ndarray, length: int, minimum: int) -> list[np.ndarray]:
    """Half-overlapping windows of ``length`` samples covering the signal; at least ``minimum`` long."""
    if len(signal) < minimum:
        signal = np.pad(signal, (0, minimum - len(signal)))
    if len(signal) <= length:
        return [signal]
    starts = list(range(0, len(signal) - length + 1, length // 2))
    if starts[-1] + length < len(signal):
        starts.append(len(signal) - length)
    return [signal[s:s + length] for s in starts]


def predict_signal(bundle: Bundle, signal: np.ndarray, rate: int) -> np.ndarray:
    """A network's class probabilities for one recording, averaged over its windows."""
    import librosa

    from .audio import denoise
    from .features import FeatureParams, extract

    sample_rate = bundle.facts["sample_rate"]
    params = FeatureParams.model_validate(bundle.facts["features"])
    if rate != sample_rate:   # as librosa.load(sr=...) in training
        signal = librosa.resample(signal, orig_sr=rate, target_sr=sample_rate, res_type="soxr_hq")
    if bundle.facts.get("params", {}).get("augment.denoise", False):   # trained on denoised recordings
        signal = denoise(signal, sample_rate)
    window = params.frames * params.hop_length
    feats, frames = zip(*(extract(w, sample_rate, params) for w in windows(signal, window, params.n_fft)))
    return bundle.predict_proba(np.stack(feats), np.array(frames)).mean(axis=0)


def predict_file(bundle: Bundle, path: Path) -> np.ndarray:
    return predict_signal(bundle, *read_recording(path))


class OursPredictor:
    """Our model with its two feature extractors, set up once for many files."""

    def __init__(self, model):
        from .opensmile_features import extractor
        from .voice_encoder import load_encoder

        self.model, self.smile, self.encoder = model, extractor(model.facts["feature_set"]), load_encoder()

    def predict_signal(self, signal: np.ndarray, rate: int, path: Path) -> np.ndarray:
        """Class probabilities for one recording at its own rate, as in training (the stages
        opensmile and embeddings), averaged over windows as long as the longest training recording."""
        from .opensmile_features import functionals_of
        from .voice_encoder import layer_statistics, prepare

        parts = windows(signal, int(self.model.facts["window_s"] * rate), 0)
        functionals = np.stack([functionals_of(self.smile, part, rate) for part in parts])
        if not np.isfinite(functionals).all():
            raise EmoserError(f"{path}: too short for openSMILE's functionals ({len(signal) / rate:.2f} s)")
        embeddings = np.stack([layer_statistics(self.encoder, prepare(part, rate)) for part in parts])
        return self.model.predict_proba(functionals, embeddings).mean(axis=0)


def load_predictor(folder: Path):
    """(signal, rate, path) -> class probabilities, the emotions they are for, and the model's name."""
    from .fusion import FusionModel

    if (folder / FusionModel.FILE).is_file():
        predictor = OursPredictor(FusionModel.load(folder))
        return predictor.predict_signal, predictor.model.facts["emotions"], predictor.model.facts["model"]
    from .networks import Bundle  # TensorFlow: imported only for the networks

    if not (folder / Bundle.MODEL_FILE).is_file():
        raise EmoserError(f"{folder}: no trained model here (run `dvc repro` or pass --model)")
    bundle = Bundle.load(folder)
    name = folder.relative_to(paths.MODELS).as_posix() if folder.is_relative_to(paths.MODELS) else str(folder)
    return (lambda signal, rate, path: predict_signal(bundle, signal, rate)), bundle.facts["emotions"], name


def classify(files: list[Path], predict, emotions: list[str], model: str, min_speech: float
             ) -> tuple[list[dict], list[str]]:
    """One row per file: the emotion and its probabilities, or why there is none; and the errors."""
    rows, errors = [], []
    for path in files:
        row: dict = {"file": str(path), "model": model, "emotion": None, "voiced_s": None, "note": None,
                     **dict.fromkeys(emotions, np.nan)}
        try:
            signal, rate = read_recording(path)
            row["voiced_s"] = round(voiced_seconds(signal, rate), 2)
            if row["voiced_s"] < min_speech:
                row["note"] = f"no speech found ({row['voiced_s']:.2f} s voiced, {min_speech:g} s needed)"
            else:
                probabilities = predict(signal, rate, path)
                row.update(zip(emotions, map(float, probabilities)))
                row["emotion"] = emotions[int(np.argmax(probabilities))]
        except EmoserError as exc:
            row["note"] = f"error: {str(exc).removeprefix(f'{path}: ')}"
            errors.append(str(exc))
        rows.append(row)
    return rows, errors


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="audio files or folders")
    parser.add_argument("--model", type=Path, default=OURS,
                        help="a trained model folder: models/ours (default, the best), models/model, models/study/…")
    parser.add_argument("--min-speech", type=float, default=DEFAULT_MIN_SPEECH_S, metavar="SECONDS",
                        help=f"voiced speech needed to classify a file (default {DEFAULT_MIN_SPEECH_S:g}; 0: always)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines: one object per file")
    output.add_argument("--csv", action="store_true", help="CSV with a column per emotion")
    args = parser.parse_args(argv)
    files = audio_files(args.inputs)
    predict, emotions, model = load_predictor(args.model)
    rows, errors = classify(files, predict, emotions, model, args.min_speech)
    table = pd.DataFrame(rows)
    if args.json:
        for row in rows:
            print(json.dumps({"file": row["file"], "model": row["model"], "emotion": row["emotion"],
                              "probabilities": ({e: round(row[e], 4) for e in emotions} if row["emotion"] else None),
                              "voiced_s": row["voiced_s"], "note": row["note"]}))
    elif args.csv:
        table.to_csv(sys.stdout, index=False, float_format="%.4f")
    else:
        shown = table.drop(columns="note").fillna({"emotion": "—"})
        print(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="—"))
        for file, note in zip(table["file"], table["note"]):
            if isinstance(note, str):
                print(f"{file}: {note}")
    if errors:
        for error in errors:
            print(f"emoser predict: error: {error}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
