"""Our served model as an MLflow pyfunc model: ``mlflow models serve`` answers what ``emoser predict``
answers (stage track logs it, with models/served as its artifact and this package as its code).

Request: one row per recording, its file's bytes in base64 (wav, flac, ogg, mp3, aiff; any rate
and channels), optionally a ``name`` to echo back::

    {"dataframe_records": [{"name": "03a01Fa.wav", "audio": "<base64 of the file>"}]}

Response: ``{"predictions": [...]}``, one object per row with the fields of ``emoser predict
--json``: ``file`` (the name), ``model``, ``start`` and ``end`` (null for a whole recording),
``emotion`` (null when there is no speech or the audio is unreadable), one probability per emotion
(null then), ``voiced_s``, ``no_speech`` (Whisper's no-speech probability) and ``note``. A
recording longer than 10 s gets a row per voiced segment after its own. A bad row does not fail
the others: whatever goes wrong with one recording (unreadable, too large or too long for the
limits stage package wrote from params ``mlflow.serve``, or an error of any kind inside) is that row's
``note``, and the rest are answered; rows past ``max_rows`` each get an error row, unread.

A request from one set-up (as ``emoser predict --adapt``): ``"params": {"adapt": true}`` beside the
records (and ``"adapt_min"``, default 20): the request's recordings are the batch the adapted twin
standardises over (``emoser.serving.adaptation``); with fewer with speech, each row keeps the plain
answer and says why. The params are the model's signature (``SIGNATURE``; ``model_options``). Where
every record also names its ``"speaker"`` (or session), each speaker's recordings are standardised over
their own unless the guard says no (as ``emoser predict --adapt --speakers``).
"""
from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path

import numpy as np
from mlflow.models import ModelSignature, set_model
from mlflow.pyfunc import PythonModel
from mlflow.types import ParamSchema, ParamSpec

# Absolute imports: MLflow runs this file as the model's code ("models from code"), with the
# emoser package logged beside it (code_paths), so no pickled object is loaded.
from emoser.audio import io
from emoser.core.errors import EmoserError
from emoser.serving.adaptation import DEFAULT_MIN_RECORDINGS, adapt_rows
from emoser.serving.classification import Screening, classify_recording, error_row, plain
from emoser.serving.served import Limits, ServedModel

ARTIFACT = "served"          # the artifact holding models/served
PACKAGE = Path(__file__).resolve().parents[1]   # the emoser package, logged as the model's code (code_paths)
REGISTERED_NAME = "emoser-ours"
# what a request may set beside its records (MLflow accepts only params its signature names)
SIGNATURE = ModelSignature(params=ParamSchema([ParamSpec("adapt", "boolean", False),
                                               ParamSpec("adapt_min", "long", DEFAULT_MIN_RECORDINGS)]))
log = logging.getLogger(__name__)


def model_options(served: Path) -> dict:
    """The arguments of ``mlflow.pyfunc.log_model`` / ``save_model`` for the model around ``served``
    (models/served): this file as its code, the package beside it, the params it takes."""
    return {"python_model": __file__, "artifacts": {ARTIFACT: str(served)}, "code_paths": [str(PACKAGE)],
            "signature": SIGNATURE}


class EmoserOurs(PythonModel):
    """The calibrated fusion of ``models/served``, one prediction per base64-encoded recording."""

    def load_context(self, context) -> None:
        self.model = ServedModel(Path(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input, params=None) -> list[dict]:
        records = model_input.to_dict("records") if hasattr(model_input, "to_dict") else list(model_input)
        limits, model, emotions = self.model.limits, self.model.facts["model"], self.model.emotions
        rows: list[dict] = []
        signals: dict[str, tuple[np.ndarray, int]] = {}     # each record's audio, kept for adaptation
        for i, record in enumerate(records):
            name = str(record.get("name") or f"row {i}") if isinstance(record, dict) else f"row {i}"
            if i >= limits.max_rows:
                answer = [error_row(name, model, emotions, f"the request holds {len(records)} recordings, over "
                                                           f"mlflow.serve.max_rows ({limits.max_rows}); send the rest "
                                                           "in another request")]
            else:
                answer = self._answer(record, name, limits, signals, key=str(i))
            rows += [{**{k: plain(v) for k, v in row.items()}, "_key": str(i)} for row in answer]
        if (params or {}).get("adapt"):
            speakers = {str(i): str(r["speaker"]) for i, r in enumerate(records)
                        if isinstance(r, dict) and isinstance(r.get("speaker"), (str, int)) and str(r["speaker"])}
            rows = self._adapted(rows, signals, int((params or {}).get("adapt_min", DEFAULT_MIN_RECORDINGS)),
                                 speakers, len(records))
        return [{k: v for k, v in row.items() if k != "_key"} for row in rows]

    def _adapted(self, rows: list[dict], signals: dict[str, tuple[np.ndarray, int]], minimum: int,
                 speakers: dict[str, str], records: int) -> list[dict]:
        """``rows`` answered again by the adapted twin over this request's recordings (as ``emoser predict
        --adapt`` over its files), per speaker where every record names one; each row keeps its name
        (records are told apart by position)."""
        keyed = [{**row, "file": row["_key"]} for row in rows]
        every = len(speakers) == records
        adapted = adapt_rows(keyed, self.model, signals.__getitem__, minimum, speakers if every else None)
        if speakers and not every:
            why = f"not adapted to speakers: {records - len(speakers)} of {records} records name no speaker"
            adapted = [{**row, "note": f"{row['note']}; {why}" if row["note"] else why} if row["emotion"] else row
                       for row in adapted]
        return [{**{k: plain(v) for k, v in new.items()}, "file": old["file"]} for old, new in zip(rows, adapted)]

    def _answer(self, record, name: str, limits: Limits, signals: dict[str, tuple[np.ndarray, int]] | None = None,
                key: str = "") -> list[dict]:
        """One recording's rows; any failure is its own error row, never the request's."""
        def read() -> tuple[np.ndarray, int]:
            signal, rate = io.read(_audio_bytes(record, name, limits), name)
            if len(signal) / rate > limits.max_seconds:
                raise EmoserError(f"{name}: {len(signal) / rate:.0f} s long, over mlflow.serve.max_seconds "
                                  f"({limits.max_seconds:g} s); cut it, or use emoser predict on the file")
            if signals is not None:
                signals[key] = (signal, rate)
            return signal, rate

        model, emotions = self.model.facts["model"], self.model.emotions
        try:
            answer, _ = classify_recording(name, read, self.model.predict_signal, emotions, model,
                                           Screening(no_speech=self.model.no_speech, speech=self.model.speech))
        except Exception as exc:  # noqa: BLE001  (a bug or a library's error on one recording: that row's)
            log.exception("%s: no answer", name)
            answer = [error_row(name, model, emotions, f"internal error ({type(exc).__name__}: {exc})")]
        return answer


def _audio_bytes(record, name: str, limits: Limits) -> bytes:
    audio = record.get("audio") if isinstance(record, dict) else None
    if not isinstance(audio, str):
        raise EmoserError(f"{name}: no 'audio' field (the file's bytes in base64)")
    if len(audio) * 3 / 4 > limits.max_recording_mb * 2**20:    # checked before decoding it
        raise EmoserError(f"{name}: {len(audio) * 3 / 4 / 2**20:.1f} MB, over mlflow.serve.max_recording_mb "
                          f"({limits.max_recording_mb:g} MB)")
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise EmoserError(f"{name}: 'audio' is not valid base64") from None


set_model(EmoserOurs())
