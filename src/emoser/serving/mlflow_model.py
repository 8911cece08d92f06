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
the others.
"""
from __future__ import annotations

import base64
import binascii
from pathlib import Path

import numpy as np
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

# Absolute imports: MLflow runs this file as the model's code ("models from code"), with the
# emoser package logged beside it (code_paths), so no pickled object is loaded.
from emoser.audio import io
from emoser.core.errors import EmoserError
from emoser.serving.classification import Screening, classify_recording, plain
from emoser.serving.served import ServedModel

ARTIFACT = "served"          # the artifact holding models/served
PACKAGE = Path(__file__).resolve().parents[1]   # the emoser package, logged as the model's code (code_paths)
REGISTERED_NAME = "emoser-ours"


class EmoserOurs(PythonModel):
    """The calibrated fusion of ``models/served``, one prediction per base64-encoded recording."""

    def load_context(self, context) -> None:
        self.model = ServedModel(Path(context.artifacts[ARTIFACT]))

    def predict(self, context, model_input, params=None) -> list[dict]:
        records = model_input.to_dict("records") if hasattr(model_input, "to_dict") else list(model_input)
        rows = []
        for i, record in enumerate(records):
            name = str(record.get("name") or f"row {i}")

            def read(record: dict = record, name: str = name) -> tuple[np.ndarray, int]:
                return io.read(_audio_bytes(record, name), name)

            answer, _ = classify_recording(name, read, self.model.predict_signal, self.model.emotions,
                                           self.model.facts["model"], Screening(no_speech=self.model.no_speech))
            rows += [{k: plain(v) for k, v in row.items()} for row in answer]
        return rows


def _audio_bytes(record: dict, name: str) -> bytes:
    audio = record.get("audio")
    if not isinstance(audio, str):
        raise EmoserError(f"{name}: no 'audio' field (the file's bytes in base64)")
    try:
        return base64.b64decode(audio, validate=True)
    except (binascii.Error, ValueError):
        raise EmoserError(f"{name}: 'audio' is not valid base64") from None


set_model(EmoserOurs())
