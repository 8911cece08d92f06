"""Our model (the fifth variant): the ensemble's maths, a real run on a tiny corpus, and serving it."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression

from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import summarise_predictions
from emoser.models.classical.fusion import (
    FUSED,
    SMILE_ENSEMBLE,
    UNWEIGHTED,
    VOICE,
    FeatureCountEnsemble,
    FusionModel,
    make_member,
    member_name,
    run_ours,
    summarise_ablation,
)
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED
from emoser.params.ours import OursParams


def _informative(rows: int, seed: int):
    """Three classes; only columns 0..4 carry the class, 195 are noise, the last is constant."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, rows)
    X = rng.standard_normal((rows, 201))
    X[:, :5] += 2.0 * y[:, None]
    X[:, -1] = 7.0
    return X, y


def test_rotation_onto_the_training_rows_leaves_the_model_unchanged():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 300)), rng.integers(0, 3, 40)     # far more columns than rows
    plain = LogisticRegression(C=0.1, class_weight="balanced", tol=1e-10, max_iter=10_000).fit(X, y)
    rotated = make_member(C=0.1)
    rotated.set_params(classify__tol=1e-10, classify__max_iter=10_000).fit(X, y)
    assert rotated.named_steps["rotate"].n_components_ == 40
    test = rng.standard_normal((10, 300))
    np.testing.assert_allclose(rotated.predict_proba(test), plain.predict_proba(test), atol=1e-5)


def test_ensemble_ranks_informative_features_first_and_averages_its_members():
    X, y = _informative(150, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a count above the features left is no warning
        model = FeatureCountEnsemble(feature_counts=(5, 50, 1000, "all")).fit(X[:100], y[:100])
    assert set(model.ranking_[:5]) == {0, 1, 2, 3, 4}
    assert [len(c) for c in model.columns_] == [5, 50, 200, 200]       # the constant column is dropped
    members = model.member_probabilities(X[100:])
    assert members.shape == (4, 50, 3)
    np.testing.assert_allclose(model.predict_proba(X[100:]), members.mean(axis=0))
    np.testing.assert_allclose(model.predict_proba(X[100:]).sum(axis=1), 1.0)
    # the 5-feature member sees only the signal; the others see ever more noise columns too
    own = [(members[i].argmax(axis=1) == y[100:]).mean() for i in range(4)]
    assert own[0] > 0.9 and own[0] > own[1] > own[3]
    assert own[3] < (model.predict(X[100:]) == y[100:]).mean() < own[0]


def _params(**changes) -> OursParams:
    settings = dict(feature_set="ComParE_2016", feature_counts=(100, "all"), C=0.1, embedding_weight=0.5,
                    speaker_standardisation=(False, True), ablation=True, jobs=2,
                    calibration={"protocol": "loso", "inner_folds": 2, "bins": 10})
    return OursParams(**{**settings, **changes})


def test_ours_on_a_tiny_corpus(tiny_inputs):
    manifest, folds, functionals, embeddings = tiny_inputs
    predictions, ablation = run_ours(manifest, functionals, embeddings, folds, _params())

    # every recording predicted once per protocol and setting, by the fold that held it out
    counts = predictions.groupby(["protocol", "model"])["utterance"].agg(["size", "nunique"])
    assert len(counts) == 4 and (counts["size"] == 56).all() and (counts["nunique"] == 56).all()
    loso = predictions[predictions["protocol"] == "loso"]
    assert (loso["fold"] == loso["speaker"]).all()

    # the ablation covers LOSO only: each member, each part, the fusion with and without class weights
    rows = [member_name(100), member_name("all"), SMILE_ENSEMBLE, VOICE, FUSED, UNWEIGHTED]
    assert set(ablation["row"]) == set(rows)
    assert ablation.groupby(["model", "row"]).size().eq(56).all()
    # its fusion row is the same model as the predictions, and the average of its two parts
    def row(name, model="ours"):
        return ablation[(ablation["model"] == model) & (ablation["row"] == name)].set_index("utterance")
    fused = row(FUSED)
    expected = loso[loso["model"] == "ours"].set_index("utterance")["predicted"]
    assert [EMOTIONS[i] for i in fused["predicted"]] == expected.loc[fused.index].tolist()
    np.testing.assert_allclose(fused[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-4)
    parts = (row(SMILE_ENSEMBLE)[list(EMOTIONS)] + row(VOICE)[list(EMOTIONS)]) / 2
    np.testing.assert_allclose(fused[list(EMOTIONS)], parts.loc[fused.index], atol=2e-6)
    np.testing.assert_allclose(row(SMILE_ENSEMBLE)[list(EMOTIONS)],
                               (row(member_name(100))[list(EMOTIONS)] + row(member_name("all"))[list(EMOTIONS)]) / 2,
                               atol=2e-6)

    # the tones' pitch depends on the emotion: the model must find it (chance is 1/7)
    summary = summarise_predictions(predictions, EMOTIONS, 200, 0, 0.95)
    assert summary["loso"]["ours" + SPEAKER_STANDARDISED]["pooled"]["uar"] > 0.6
    scored = summarise_ablation(ablation, EMOTIONS, 200, 0, 0.95)["loso"]
    assert scored["ours"][FUSED]["uar"] == pytest.approx(summary["loso"]["ours"]["pooled"]["uar"])
    assert set(scored) == {"ours", "ours" + SPEAKER_STANDARDISED} and set(scored["ours"]) == set(rows)


def test_embedding_weight_picks_the_part(tiny_inputs):
    manifest, folds, functionals, embeddings = tiny_inputs
    loso = folds[folds["protocol"] == "loso"]
    by_weight = {}
    for weight in (0.0, 1.0):
        params = _params(embedding_weight=weight, speaker_standardisation=(False,))
        _, ablation = run_ours(manifest, functionals, embeddings, loso, params)
        by_weight[weight] = ablation.pivot_table(index="utterance", columns="row", values="predicted")
    # weight 0 is the ComParE ensemble alone, weight 1 the voice encoder alone
    assert (by_weight[0.0][FUSED] == by_weight[0.0][SMILE_ENSEMBLE]).all()
    assert (by_weight[1.0][FUSED] == by_weight[1.0][VOICE]).all()
    assert (by_weight[0.0][VOICE] != by_weight[0.0][SMILE_ENSEMBLE]).any()       # the parts do disagree


def test_embedding_weight_is_validated():
    with pytest.raises(ValueError, match="embedding_weight"):
        _params(embedding_weight=1.5)


def test_predict_serves_our_model_from_the_features_it_was_trained_on(tiny, tiny_inputs, tmp_path):
    root, manifest, _ = tiny
    _, _, functionals, embeddings = tiny_inputs
    facts = {"model": "ours", "feature_set": "ComParE_2016", "emotions": list(EMOTIONS), "window_s": 1.0}
    model = FusionModel.fit(functionals, embeddings, manifest["label"].to_numpy(), _params(), facts)
    model.save(tmp_path / "ours")
    picked = [0, 17, 40]
    files = [root / "corpus" / "wav" / manifest["file"][i] for i in picked]
    signal, rate = sf.read(files[1], dtype="float32")
    sf.write(tmp_path / "long.wav", np.tile(signal, 3), rate)            # 3 s: scored in 1-s windows
    result = subprocess.run([sys.executable, "-m", "emoser.serving.predict", "--model", str(tmp_path / "ours"),
                             "--json",
                             *map(str, files), str(tmp_path / "long.wav")], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    # the CLI reads, extracts and fuses as the stages did: same probabilities as on the stored features
    expected = model.predict_proba(functionals[picked], embeddings[picked])
    for row, probabilities in zip(rows, expected):
        np.testing.assert_allclose([row["probabilities"][e] for e in EMOTIONS], probabilities, atol=2e-4)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0)
    longest = rows[-1]
    assert longest["file"].endswith("long.wav") and abs(sum(longest["probabilities"].values()) - 1) < 1e-3
    assert longest["emotion"] == rows[1]["emotion"]           # the same recording, three times over
