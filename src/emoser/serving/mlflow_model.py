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
"""
from __future__ import annotations

import base64
import binascii
import logging
from pathlib import Path

import numpy as np
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

# Absolute imports: MLflow runs this file as the model's code ("models from code"), with the
# emoser package logged beside it (code_paths), so no pickled object is loaded.
from emoser.audio import io
from emoser.core.errors import EmoserError
from emoser.serving.classification import Screening, classify_recording, error_row, plain
from emoser.serving.served import Limits, ServedModel

ARTIFACT = "served"          # the artifact holding models/served
PACKAGE = Path(__file__).resolve().parents[1]   # the emoser package, logged as the model's code (code_paths)
REGISTERED_NAME = "emoser-ours"
log = logging.getLogger(__name__)


class EmoserOurs(PythonModel):
    """The calibrated fusion of ``models/served``, one prediction per base64-encoded recording."""

    def load_context(self, context) -> None:
        self.model = ServedModel(Path(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input, params=None) -> list[dict]:
        records = model_input.to_dict("records") if hasattr(model_input, "to_dict") else list(model_input)
        limits, model, emotions = self.model.limits, self.model.facts["model"], self.model.emotions
        rows = []
        for i, record in enumerate(records):
            name = str(record.get("name") or f"row {i}") if isinstance(record, dict) else f"row {i}"
            if i >= limits.max_rows:
                answer = [error_row(name, model, emotions, f"the request holds {len(records)} recordings, over "
                                                           f"mlflow.serve.max_rows ({limits.max_rows}); send the rest "
                                                           "in another request")]
            else:
                answer = self._answer(record, name, limits)
            rows += [{k: plain(v) for k, v in row.items()} for row in answer]
        return rows

    def _answer(self, record, name: str, limits: Limits) -> list[dict]:
        """One recording's rows; any failure is its own error row, never the request's."""
        def read() -> tuple[np.ndarray, int]:
            signal, rate = io.read(_audio_bytes(record, name, limits), name)
            if len(signal) / rate > limits.max_seconds:
                raise EmoserError(f"{name}: {len(signal) / rate:.0f} s long, over mlflow.serve.max_seconds "
                                  f"({limits.max_seconds:g} s); cut it, or use emoser predict on the file")
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
