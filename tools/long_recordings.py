"""Segmenting long recordings: which detector's frames find the speech and leave music and noise out?

Builds one long recording per corpus (12 utterances at 16 kHz, each after 1.5 s of a C-major chord,
white noise, brown noise or near-silence, in turn) and segments it four ways, as
``emoser.audio.speech.voiced_segments`` joins frames (pauses up to 0.3 s, 0.1 s margins, at least 0.5 s):
the voice-activity check's frames (``VAD``: what emoser predict segments by today), Silero VAD's
(``Silero``), their union, and Silero's segments with the voice-activity check's where Silero hears
nothing (``Silero-first``). It prints, per corpus and way, the utterances found (over half their span
inside segments) and the share of each gap inside segments that also hold speech (music or noise mixed
into what is classified).

    python tools/long_recordings.py          # ../shared/{emodb,ravdess,nemo}; ~1 min on 2 cores

Measured 2026-12-06 (2-core Intel Xeon): VAD finds 36 of 36 utterances but mixes the chords into the speech
segments (nEMO 1.00 of chord time, Emo-DB and RAVDESS 0.67); Silero keeps chords out (0.00-0.07) but finds
4 of 12 of RAVDESS actor 06's strong-intensity utterances; Silero-first finds every nEMO and Emo-DB
utterance with chords out (0.06, 0.07) and 10 of 12 of those RAVDESS ones (chords 0.67 there). No way is
best on all three: emoser predict still segments by the voice-activity check (each segment then judged
by the combined speech check, which refuses a chord alone).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from emoser.audio.io import read_recording, resample
from emoser.audio.speech import FRAME as VAD_FRAME
from emoser.audio.speech import RATE as VAD_RATE
from emoser.audio.speech import voiced_frames
from emoser.serving.silero import FRAME as SILERO_FRAME
from emoser.serving.silero import RATE as SILERO_RATE
from emoser.serving.silero import THRESHOLD, frame_probabilities

SHARED = Path(__file__).resolve().parents[2] / "shared"
RATE, STEP = 16000, 0.01      # the recording's rate; the common grid the detectors' frames are put on


def gaps(rng: np.random.Generator) -> dict:
    def chord(s):
        t = np.arange(int(s * RATE)) / RATE
        return (0.05 * sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0, 523.3))).astype(np.float32)

    def white(s):
        return (0.03 * rng.standard_normal(int(s * RATE))).astype(np.float32)

    def brown(s):
        x = np.cumsum(rng.standard_normal(int(s * RATE)))
        x -= np.linspace(x[0], x[-1], len(x))
        return (0.05 * x / np.abs(x).max()).astype(np.float32)

    def quiet(s):
        return (1e-4 * rng.standard_normal(int(s * RATE))).astype(np.float32)

    return {"chord": chord, "white": white, "brown": brown, "quiet": quiet}


def segments(mask: np.ndarray, duration: float, max_gap=0.3, min_s=0.5, margin=0.1) -> list[tuple[float, float]]:
    """``mask`` (on the STEP grid) joined as ``voiced_segments`` joins frames."""
    joined: list[list[float]] = []
    for i in np.flatnonzero(mask):
        a, b = i * STEP, (i + 1) * STEP
        if joined and a - joined[-1][1] <= max_gap:
            joined[-1][1] = b
        else:
            joined.append([a, b])
    out = [(max(0.0, a - margin), min(duration, b + margin)) for a, b in joined]
    return [(a, b) for a, b in out if b - a >= min_s]


def on_grid(frames: np.ndarray, step: float, n: int) -> np.ndarray:
    index = np.minimum(((np.arange(n) + 0.5) * STEP / step).astype(int), len(frames) - 1)
    return frames[index]


def covered(segs, n: int) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    for a, b in segs:
        mask[int(a / STEP):int(b / STEP)] = True
    return mask


def main() -> None:
    rng = np.random.default_rng(0)
    fill = gaps(rng)
    sources = {"nEMO": sorted((SHARED / "nemo" / "samples").glob("*.flac"))[::97][:12],
               "RAVDESS actor 06, strong": sorted((SHARED / "ravdess" / "Actor_06").glob("03-01-0[2-8]-02-*.flac"))[
                   :12],
               "Emo-DB": sorted((SHARED / "emodb" / "wav").glob("*.wav"))[::45][:12]}
    for corpus, files in sources.items():
        parts, spans, position = [], [], 0.0
        for k, path in enumerate(files):
            kind = list(fill)[k % len(fill)]
            parts.append(fill[kind](1.5))
            spans.append((kind, position, position + 1.5))
            position += 1.5
            signal, rate = read_recording(path)
            signal = resample(signal, rate, RATE).astype(np.float32)
            parts.append(0.5 * signal / max(1e-9, float(np.abs(signal).max())))
            spans.append(("speech", position, position + len(parts[-1]) / RATE))
            position += len(parts[-1]) / RATE
        signal = np.concatenate(parts)
        duration, n = len(signal) / RATE, int(len(signal) / RATE / STEP)
        vad = on_grid(voiced_frames(signal, RATE), VAD_FRAME / VAD_RATE, n)
        silero = on_grid(frame_probabilities(signal, RATE) >= THRESHOLD, SILERO_FRAME / SILERO_RATE, n)
        by_vad, by_silero = segments(vad, duration), segments(silero, duration)
        first = sorted(by_silero + [v for v in by_vad if not any(a < v[1] and v[0] < b for a, b in by_silero)])
        for way, segs in (("VAD", by_vad), ("Silero", by_silero), ("union", segments(vad | silero, duration)),
                          ("Silero-first", first)):
            inside = covered(segs, n)
            with_speech = covered([s for s in segs if any(k == "speech" and a < s[1] and s[0] < b
                                                          for k, a, b in spans)], n)
            found = sum(inside[int(a / STEP):int(b / STEP)].mean() > 0.5 for k, a, b in spans if k == "speech")
            mixed = {kind: np.mean([with_speech[int(a / STEP):int(b / STEP)].mean() for k, a, b in spans if k == kind])
                     for kind in fill}
            print(f"{corpus:25s} {way:12s} {len(segs):3d} segments, utterances found {found}/{len(files)}; "
                  "gap inside segments with speech: " + ", ".join(f"{k} {v:.2f}" for k, v in mixed.items()))


if __name__ == "__main__":
    main()
