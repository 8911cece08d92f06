"""The speech check on real speech and on sounds that are not speech: Whisper's no-speech probability
(emoser.serving.no_speech) and the voiced seconds (emoser.audio.speech) of every recording of the
corpus copies in ../shared, and of tonal and noise signals made here at several rates. The figures
behind ``DEFAULT_MAX_NO_SPEECH`` (docs/predict.md).

    python benchmarks/speech_check.py [--every N] [--write]     # --write: metrics/bench.json "speech_check"
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from emoser.audio.io import read
from emoser.audio.speech import voiced_seconds
from emoser.serving.classification import DEFAULT_MAX_NO_SPEECH
from emoser.serving.no_speech import NoSpeech

SHARED = Path(__file__).resolve().parents[2] / "shared"
CORPORA = {"emodb": SHARED / "emodb" / "wav", "ravdess": SHARED / "ravdess"}
RATES = (8000, 16000, 22050, 44100)


def non_speech(rate: int, seconds: float = 2.0) -> dict[str, np.ndarray]:
    """Sounds that are not speech: tonal (a chord, a tone, hum, a harmonic buzz) and not (noise, clicks, silence)."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(rate)
    sounds = {"chord C-E-G": sum(0.2 * np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0)),
              "tone 440 Hz": 0.3 * np.sin(2 * np.pi * 440 * t),
              "hum 50 Hz + harmonics": sum(0.3 / k * np.sin(2 * np.pi * 50 * k * t) for k in (1, 3, 5)),
              "harmonic buzz 150 Hz": sum(0.3 / k * np.sin(2 * np.pi * 150 * k * t) for k in range(1, 6)),
              "white noise": 0.1 * rng.standard_normal(len(t)),
              "clicks": np.where(np.arange(len(t)) % (rate // 10) == 0, 0.8, 0.0),
              "silence": np.zeros(len(t))}
    return {name: x.astype(np.float32) for name, x in sounds.items()}


def summary(values: list[float]) -> dict:
    v = np.asarray(values)
    return {"n": len(v), "max": float(v.max()), "p99": float(np.quantile(v, 0.99)), "median": float(np.median(v)),
            "min": float(v.min()), "refused": int((v >= DEFAULT_MAX_NO_SPEECH).sum())}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=int, default=1, help="every Nth recording of each corpus")
    parser.add_argument("--write", action="store_true", help="record the figures in metrics/bench.json")
    args = parser.parse_args(argv)
    check = NoSpeech()
    results: dict = {"threshold": DEFAULT_MAX_NO_SPEECH, "corpora": {}, "non_speech": {}}
    for corpus, folder in CORPORA.items():
        files = sorted(p for p in folder.rglob("*") if p.suffix in (".wav", ".flac"))[::args.every]
        if not files:
            continue
        started, probabilities, worst = time.perf_counter(), [], ("", -1.0)
        for path in files:
            p = check(*read(path))
            probabilities.append(p)
            worst = max(worst, (path.name, p), key=lambda w: w[1])
        results["corpora"][corpus] = {**summary(probabilities), "highest": worst[0],
                                      "ms_per_file": 1000 * (time.perf_counter() - started) / len(files)}
        print(corpus, json.dumps(results["corpora"][corpus]), flush=True)
    for rate in RATES:
        for name, signal in non_speech(rate).items():
            entry = results["non_speech"].setdefault(name, {"no_speech_min": 1.0, "voiced_s_max": 0.0})
            entry["no_speech_min"] = min(entry["no_speech_min"], check(signal, rate))
            entry["voiced_s_max"] = max(entry["voiced_s_max"], voiced_seconds(signal, rate))
    for name, entry in results["non_speech"].items():
        refused = entry["no_speech_min"] >= DEFAULT_MAX_NO_SPEECH or entry["voiced_s_max"] < 0.3
        print(f"{name}: no-speech probability >= {entry['no_speech_min']:.3f}, voiced <= {entry['voiced_s_max']:.2f} s"
              f" at {', '.join(map(str, RATES))} Hz -> {'refused' if refused else 'ACCEPTED'}", flush=True)
    if args.write:
        bench = Path("metrics/bench.json")
        data = json.loads(bench.read_text())
        data["speech_check"] = json.loads(json.dumps(results), parse_float=lambda x: round(float(x), 4))
        bench.write_text(json.dumps(data, indent=2) + "\n")
    return results


if __name__ == "__main__":
    main()
