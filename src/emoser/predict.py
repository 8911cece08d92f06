"""Predict the emotion of new recordings with a trained model.

    emoser predict my.wav other.flac recordings/      # table on the terminal (or python -m emoser.predict)
    emoser predict --json my.wav                      # or --csv, for scripts
    emoser predict --model models/study/cnn_lstm-cce my.wav
    emoser predict --model models/ours my.wav          # our model (stage ours)

Any sample rate and channel count (resampled and downmixed as in training, through the
same loader and feature code). A recording longer than the model's window is scored in
half-overlapping windows whose class probabilities are averaged; for the networks a shorter
one is padded, for our model it is scored whole.
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
from .audio import denoise, load_audio
from .errors import EmoserError
from .features import FeatureParams, extract
from .files import read_wav
from .fusion import FusionModel
from .runtime import entry_point

if TYPE_CHECKING:
    from .networks import Bundle

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")


def audio_files(inputs: list[str]) -> list[Path]:
    files: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            found = sorted(p for p in item.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise EmoserError(f"{item}: no {'/'.join(AUDIO_SUFFIXES)} files in this folder")
            files += found
        elif item.is_file():
            files.append(item)
        else:
            raise EmoserError(f"{item}: no such file or folder")
    return files


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


def predict_file(bundle: Bundle, path: Path) -> np.ndarray:
    """Class probabilities for one recording, averaged over its windows."""
    sample_rate = bundle.facts["sample_rate"]
    params = FeatureParams.model_validate(bundle.facts["features"])
    signal = load_audio(path, sample_rate)
    if not np.any(signal):
        raise EmoserError(f"{path}: is pure silence; nothing to classify")
    if bundle.facts.get("params", {}).get("augment.denoise", False):   # trained on denoised recordings
        signal = denoise(signal, sample_rate)
    window = params.frames * params.hop_length
    feats, frames = zip(*(extract(w, sample_rate, params) for w in windows(signal, window, params.n_fft)))
    return bundle.predict_proba(np.stack(feats), np.array(frames)).mean(axis=0)


class OursPredictor:
    """Our model with its two feature extractors, set up once for many files."""

    def __init__(self, model: FusionModel):
        from .opensmile_features import extractor
        from .voice_encoder import load_encoder

        self.model, self.smile, self.encoder = model, extractor(model.facts["feature_set"]), load_encoder()

    def predict_file(self, path: Path) -> np.ndarray:
        """Class probabilities for one recording, read at its own rate as in training (the stages
        opensmile and embeddings), averaged over windows as long as the longest training recording."""
        from .opensmile_features import functionals_of
        from .voice_encoder import layer_statistics, prepare

        signal, rate = read_wav(path)
        if not np.any(signal):
            raise EmoserError(f"{path}: is pure silence; nothing to classify")
        parts = windows(signal, int(self.model.facts["window_s"] * rate), 0)
        functionals = np.stack([functionals_of(self.smile, part, rate) for part in parts])
        embeddings = np.stack([layer_statistics(self.encoder, prepare(part, rate)) for part in parts])
        return self.model.predict_proba(functionals, embeddings).mean(axis=0)


def load_predictor(folder: Path):
    """A function path -> class probabilities, and the emotions they are for, from a model folder."""
    if (folder / FusionModel.FILE).is_file():
        predictor = OursPredictor(FusionModel.load(folder))
        return predictor.predict_file, predictor.model.facts["emotions"]
    from .networks import Bundle  # TensorFlow: imported only for the networks

    if not (folder / Bundle.MODEL_FILE).is_file():
        raise EmoserError(f"{folder}: no trained model here (run `dvc repro` or pass --model)")
    bundle = Bundle.load(folder)
    return (lambda path: predict_file(bundle, path)), bundle.facts["emotions"]


def predictions_table(files: list[Path], probabilities: np.ndarray, emotions: list[str]) -> pd.DataFrame:
    table = pd.DataFrame(probabilities, columns=emotions)
    table.insert(0, "emotion", [emotions[i] for i in probabilities.argmax(axis=1)])
    table.insert(0, "file", [str(f) for f in files])
    return table


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="+", help="audio files or folders")
    parser.add_argument("--model", type=Path, default=paths.MODELS / "model",
                        help="a trained model folder: models/model (default), models/study/…, models/ours")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="JSON lines: one object per file")
    output.add_argument("--csv", action="store_true", help="CSV with a column per emotion")
    args = parser.parse_args(argv)
    files = audio_files(args.inputs)
    predict, emotions = load_predictor(args.model)
    table = predictions_table(files, np.stack([predict(f) for f in files]), emotions)
    if args.json:
        for row in table.to_dict(orient="records"):
            print(json.dumps({"file": row["file"], "emotion": row["emotion"],
                              "probabilities": {e: round(float(row[e]), 4) for e in emotions}}))
    elif args.csv:
        table.to_csv(sys.stdout, index=False, float_format="%.4f")
    else:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))


if __name__ == "__main__":
    main()
