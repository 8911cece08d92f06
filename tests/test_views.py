"""Views as plug-ins: a tiny fake view, registered here and nowhere else, runs through stage ours's
fusion (folds, nested weights, ablation), the fitted model, stage package's export, the served model
and ``emoser predict --model models/ours``'s extractors, with no other module edited."""
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from conftest import ours_params
from emoser.core.errors import EmoserError
from emoser.corpora.emodb import EMOTIONS
from emoser.features import views as training_views
from emoser.models.classical.calibration import scaled
from emoser.models.classical.fusion import FUSED, NESTED, FusionModel, combination_row, run_ours
from emoser.serving import export, served
from emoser.serving.predict import OursPredictor

TEMPERATURE = 0.7


def loudness(signal: np.ndarray, rate: int) -> np.ndarray:
    """Level and zero-crossing rate per second: 2 values (the tiny corpus's pitch follows the emotion)."""
    x = np.asarray(signal, dtype=np.float64)
    crossings = np.count_nonzero(np.diff(np.signbit(x))) * rate / max(len(x), 1)
    return np.array([np.log10(np.mean(x ** 2) + 1e-10), crossings / 1000], dtype=np.float32)


class LoudnessServed(served.ServedView):
    name, prefix = "loudness", "loudness"

    def features(self, part: np.ndarray, rate: int) -> np.ndarray:
        return loudness(part, rate)


@pytest.fixture
def fake_view():
    view = training_views.View("loudness", "Loudness", "none", "nothing: two numbers", "embedding",
                               load=lambda corpus, params, utterances: pytest.fail("not read from a stage here"),
                               extractor=lambda facts: None,
                               compute=lambda extractor, part, rate, facts: loudness(part, rate))
    training_views.register(view)
    served.served_view(LoudnessServed)
    yield view
    del training_views.VIEWS["loudness"], served.SERVED_VIEWS["loudness"]


def test_the_two_registries_name_the_same_views():
    assert list(training_views.VIEWS) == list(served.SERVED_VIEWS) == ["compare", "voice", "whisper"]
    with pytest.raises(EmoserError, match=r"ours.fusion.views: no view 'wav2vec' \(known: compare, voice, whisper\)"):
        training_views.view("wav2vec")


def test_a_fake_view_runs_through_fusion_and_the_served_model(fake_view, tiny, tiny_inputs, tmp_path):
    root, manifest, _ = tiny
    _, folds, stored = tiny_inputs
    files = [root / "corpus" / "wav" / name for name in manifest["file"]]
    signals = [sf.read(f, dtype="float32") for f in files]
    views = {"voice": stored["voice"], "loudness": np.stack([loudness(s, r) for s, r in signals])}
    params = ours_params(fusion={"views": ("voice", "loudness"), "weights": "nested", "step": 0.25,
                                 "inner_folds": 2}, speaker_standardisation=(False,), jobs=1)

    # stage ours's folds: the fake view's own row and the pair, with nested weights, in the ablation
    predictions, ablation, weights = run_ours(manifest, views, folds, params)
    assert {"Loudness", "voice encoder", combination_row(("voice", "loudness"), NESTED), FUSED} <= set(ablation["row"])
    assert list(weights.columns[-2:]) == ["voice", "loudness"] and len(predictions) == 2 * len(manifest)

    # the model fitted on every recording, packed as stage package packs it, served
    facts = {"model": "ours", "feature_set": "ComParE_2016", "emotions": list(EMOTIONS), "window_s": 1.0,
             "recordings": len(manifest),
             "params": params.model_dump(mode="json", include={"whisper_layers", "fusion"})}
    model = FusionModel.fit(views, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), params, facts)
    model.weights = {"voice": 0.5, "loudness": 0.5}          # both served, whatever the grid chose
    folder = tmp_path / "served"
    folder.mkdir()
    arrays = {**export.model_arrays(model), **export.encoder_arrays(model)}
    assert {"loudness.mean", "loudness.weights", "loudness.classes", "encoder.window"} <= set(arrays)
    np.savez(folder / served.ARRAYS, **arrays)
    (folder / served.FACTS).write_text(json.dumps(export.facts(model, TEMPERATURE)))
    mine = served.ServedModel(folder)
    assert set(mine.views) == {"voice", "loudness"}
    # the served contract: within 1e-5 (the PCA rotation folded into the weights moves the last digits)
    np.testing.assert_allclose(mine.raw_probabilities(views), model.predict_proba(views), atol=1e-5)
    # one recording from its audio: the served views and the training views' extractors agree
    ours = OursPredictor(model)
    for signal, rate in signals[:3]:
        expected = scaled(ours.predict_signal(signal, rate, "tone")[None], TEMPERATURE)[0]
        np.testing.assert_allclose(mine.predict_signal(signal, rate), expected, atol=1e-5)


def test_a_served_model_naming_an_unknown_view_is_one_error(tmp_path):
    folder = Path(tmp_path)
    np.savez(folder / served.ARRAYS, nothing=np.zeros(1))
    (folder / served.FACTS).write_text(json.dumps({"emotions": ["a"], "temperature": 1.0,
                                                   "weights": {"wav2vec": 1.0}}))
    with pytest.raises(EmoserError, match=r"no served view \['wav2vec'\]"):
        served.ServedModel(folder)
