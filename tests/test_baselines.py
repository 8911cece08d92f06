"""The openSMILE + SVM baselines: speaker standardisation, and a real run on a tiny corpus."""
import subprocess
import sys

import numpy as np

from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import summarise_predictions
from emoser.features.functionals import Functionals
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED, speaker_standardise
from emoser.models.classical.svm import run_baselines
from emoser.params.baselines import BaselineParams
from emoser.params.cv import CvParams
from emoser.protocols.folds import make_folds


def test_speaker_standardise_uses_each_speakers_own_statistics():
    values = np.array([[1.0, 5.0], [3.0, 5.0], [10.0, 0.0], [30.0, 4.0]])
    out = speaker_standardise(values, ["03", "03", "08", "08"])
    # each speaker's column means 0, std 1; a constant column becomes 0, not NaN
    assert out[:2].tolist() == [[-1.0, 0.0], [1.0, 0.0]]
    assert out[2:].tolist() == [[-1.0, -1.0], [1.0, 1.0]]
    # a speaker whose voice is shifted as a whole ends up where the others are
    shifted = speaker_standardise(values + np.array([[0, 0], [0, 0], [100, 100], [100, 100]]),
                                  ["03", "03", "08", "08"])
    assert np.allclose(shifted, out)


def test_opensmile_functionals_have_the_published_sizes(tiny):
    root, manifest, functionals = tiny
    assert functionals["eGeMAPSv02"].values.shape == (56, 88)
    assert functionals["ComParE_2016"].values.shape == (56, 6373)
    assert np.isfinite(functionals["eGeMAPSv02"].values).all()
    functionals["eGeMAPSv02"].save(root / "e.npz")
    again = Functionals.load(root / "e.npz")
    reordered = list(reversed(manifest["utterance"]))
    assert np.array_equal(again.select(reordered), functionals["eGeMAPSv02"].values[::-1])


def test_baselines_on_a_tiny_corpus(tiny):
    _, manifest, functionals = tiny
    clips = manifest.assign(clip=manifest["utterance"], kind="original")
    folds = make_folds(clips, CvParams(protocols=("loso", "kfold"), k=2, val_fraction=0.15, seed=0,
                                       variants=()))
    models = {"egemaps": BaselineParams(feature_set="eGeMAPSv02", kernel="rbf", C=1.0),
              "compare": BaselineParams(feature_set="ComParE_2016", kernel="linear", C=0.001)}
    predictions = run_baselines(manifest, functionals, folds, models, (False, True), jobs=2)
    assert set(predictions["model"]) == {"egemaps", "compare", "egemaps" + SPEAKER_STANDARDISED,
                                         "compare" + SPEAKER_STANDARDISED}
    # every recording is predicted exactly once per model and protocol, by the fold that held it out
    counts = predictions.groupby(["protocol", "model"])["utterance"].agg(["size", "nunique"])
    assert (counts["size"] == 56).all() and (counts["nunique"] == 56).all()
    loso = predictions[predictions["protocol"] == "loso"]
    assert (loso["fold"] == loso["speaker"]).all()
    assert set(predictions["predicted"]) <= set(EMOTIONS)
    # the tones' pitch depends on the emotion: the SVMs must find it (chance is 1/7)
    summary = summarise_predictions(predictions, EMOTIONS, 200, 0, 0.95)
    assert summary["kfold"]["compare"]["pooled"]["uar"] > 0.6
    assert summary["loso"]["egemaps" + SPEAKER_STANDARDISED]["pooled"]["uar"] > 0.6


def test_opensmile_after_tensorflow_is_a_clear_error_not_a_crash(tmp_path):
    code = ("import tensorflow\nfrom emoser.core.errors import EmoserError\n"
            "from emoser.features.opensmile import extractor\n"
            "try:\n    extractor('eGeMAPSv02')\nexcept EmoserError as exc:\n    print('refused:', exc)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "refused: openSMILE cannot start in a process that has already imported TensorFlow" in result.stdout
