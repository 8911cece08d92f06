"""Our model (the fifth variant): the ensemble's maths, a real run on a tiny corpus, and serving it."""
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest
import soundfile as sf
from sklearn.linear_model import LogisticRegression

from conftest import ours_params
from emoser.corpora.emodb import EMOTIONS
from emoser.evaluation.scoring import summarise_predictions
from emoser.models.classical.fusion import (
    EQUAL,
    FUSED,
    NESTED,
    SMILE_ENSEMBLE,
    VOICE,
    WHISPER,
    FeatureCountEnsemble,
    FusionModel,
    choose_weights,
    combination_row,
    make_member,
    member_name,
    run_ours,
    starting_coefficients,
    summarise_ablation,
    weight_grid,
)
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED


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
    assert rotated.named_steps["rotate"].components_.shape == (39, 300)     # 40 centred rows span 39 directions
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


def test_each_member_starts_where_the_one_before_ended_and_reaches_a_cold_starts_optimum():
    """A member's lbfgs starts from the previous member's optimum: the same decision values on the
    training rows (the columns nest), so fewer iterations in all, and the same optimum a cold start
    reaches, up to the solver's tolerance; the fitted members keep warm_start off."""
    X, y = _informative(150, seed=3)
    X = X.astype(np.float32)
    warm = FeatureCountEnsemble(feature_counts=(20, 60, "all")).fit(X[:100], y[:100])
    Z = warm.scaler_.transform(warm.keep_.transform(X[:100]))
    cold = [make_member(0.1).fit(Z[:, cols], y[:100]) for cols in warm.columns_]
    # the start handed on: a member's decision values (less its intercept) on the training rows; the
    # coefficients a second member starts from give those values exactly (nested columns)
    first = warm.members_[0]
    raw = (first.named_steps["rotate"].transform(Z[:, warm.columns_[0]]).astype(np.float64)
           @ first.named_steps["classify"].coef_.T)
    coordinates = make_member(0.1).named_steps["rotate"].fit_transform(Z[:, warm.columns_[1]]).astype(np.float64)
    np.testing.assert_allclose(coordinates @ starting_coefficients(coordinates, raw).T, raw, atol=1e-5)
    # on fewer columns than before (not nested) it is the least-squares projection
    fewer = coordinates[:, :5]
    residual = raw - fewer @ starting_coefficients(fewer, raw).T
    np.testing.assert_allclose(fewer.T @ residual, 0, atol=1e-4)
    # fewer iterations than cold starts, the same optimum up to lbfgs' tolerance
    warm_iterations = [int(m.named_steps["classify"].n_iter_[0]) for m in warm.members_]
    cold_iterations = [int(m.named_steps["classify"].n_iter_[0]) for m in cold]
    assert warm_iterations[0] == cold_iterations[0] and sum(warm_iterations) < sum(cold_iterations)
    test = warm.scaler_.transform(warm.keep_.transform(X[100:]))
    for member, again, cols in zip(warm.members_, cold, warm.columns_):
        np.testing.assert_allclose(member.predict_proba(test[:, cols]), again.predict_proba(test[:, cols]), atol=2e-2)
        assert member.named_steps["classify"].get_params()["warm_start"] is False
    np.testing.assert_array_equal(warm.members_[0].predict_proba(test[:, warm.columns_[0]]),
                                  cold[0].predict_proba(test[:, warm.columns_[0]]))    # the first starts cold


def test_ours_on_a_tiny_corpus(tiny_inputs):
    manifest, folds, views = tiny_inputs
    predictions, ablation, weights = run_ours(manifest, views, folds, ours_params())

    # every recording predicted once per protocol and setting, by the fold that held it out
    counts = predictions.groupby(["protocol", "model"])["utterance"].agg(["size", "nunique"])
    assert len(counts) == 4 and (counts["size"] == 56).all() and (counts["nunique"] == 56).all()
    loso = predictions[predictions["protocol"] == "loso"]
    assert (loso["fold"] == loso["speaker"]).all()

    # each fold's weights: on the grid (step 0.25), summing to 1, one row per setting and fold
    assert len(weights) == 2 * (4 + 2) and list(weights.columns) == ["model", "protocol", "fold", "compare", "voice",
                                                                       "whisper"]
    grid = weights[["compare", "voice", "whisper"]].to_numpy()
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert np.allclose(grid * 4, np.round(grid * 4))

    # the ablation covers LOSO only: each member, each view, every combination with nested and equal weights
    pairs = [("compare", "voice"), ("compare", "whisper"), ("voice", "whisper"), ("compare", "voice", "whisper")]
    rows = [member_name(100), member_name("all"), SMILE_ENSEMBLE, VOICE, WHISPER, FUSED,
            *[combination_row(c, w) for c in pairs for w in (NESTED, EQUAL)]]
    assert set(ablation["row"]) == set(rows)
    assert ablation.groupby(["model", "row"]).size().eq(56).all()

    def row(name, model="ours"):
        return ablation[(ablation["model"] == model) & (ablation["row"] == name)].set_index("utterance")
    # its fusion row is the same model as the predictions, and each fold's weighted average of its views
    fused = row(FUSED)
    expected = loso[loso["model"] == "ours"].set_index("utterance")["predicted"]
    assert [EMOTIONS[i] for i in fused["predicted"]] == expected.loc[fused.index].tolist()
    np.testing.assert_allclose(fused[list(EMOTIONS)].sum(axis=1), 1.0, atol=1e-4)
    fold_weights = weights[(weights["model"] == "ours") & (weights["protocol"] == "loso")].set_index("fold")
    by_speaker = manifest.set_index("utterance")["speaker"].loc[fused.index]
    mixed = sum(fold_weights.loc[by_speaker, v].to_numpy()[:, None] * row(name)[list(EMOTIONS)].to_numpy()
                for v, name in (("compare", SMILE_ENSEMBLE), ("voice", VOICE), ("whisper", WHISPER)))
    np.testing.assert_allclose(fused[list(EMOTIONS)].to_numpy(), mixed, atol=5e-6)
    # the nested three-view row is ours; equal weights are the plain mean
    np.testing.assert_allclose(row(combination_row(pairs[-1], NESTED))[list(EMOTIONS)], fused[list(EMOTIONS)])
    equal = (row(SMILE_ENSEMBLE)[list(EMOTIONS)] + row(VOICE)[list(EMOTIONS)] + row(WHISPER)[list(EMOTIONS)]) / 3
    np.testing.assert_allclose(row(combination_row(pairs[-1], EQUAL))[list(EMOTIONS)], equal, atol=5e-6)
    np.testing.assert_allclose(row(SMILE_ENSEMBLE)[list(EMOTIONS)],
                               (row(member_name(100))[list(EMOTIONS)] + row(member_name("all"))[list(EMOTIONS)]) / 2,
                               atol=2e-6)

    # the tones' pitch depends on the emotion: the model must find it (chance is 1/7)
    summary = summarise_predictions(predictions, EMOTIONS, 200, 0, 0.95)
    assert summary["loso"]["ours" + SPEAKER_STANDARDISED]["pooled"]["uar"] > 0.6
    scored = summarise_ablation(ablation, EMOTIONS, 200, 0, 0.95)["loso"]
    assert scored["ours"][FUSED]["uar"] == pytest.approx(summary["loso"]["ours"]["pooled"]["uar"])
    assert set(scored) == {"ours", "ours" + SPEAKER_STANDARDISED} and set(scored["ours"]) == set(rows)


def test_fixed_weights_pick_the_view(tiny_inputs):
    manifest, folds, views = tiny_inputs
    loso = folds[folds["protocol"] == "loso"]
    by_view = {}
    for view in ("compare", "whisper"):
        fusion = {"views": ("compare", "voice", "whisper"), "step": 0.25, "inner_folds": 2,
                  "weights": {v: float(v == view) for v in ("compare", "voice", "whisper")}}
        params = ours_params(fusion=fusion, speaker_standardisation=(False,))
        _, ablation, weights = run_ours(manifest, views, loso, params)
        assert (weights[view] == 1).all()
        by_view[view] = ablation.pivot_table(index="utterance", columns="row", values="predicted")
    assert (by_view["compare"][FUSED] == by_view["compare"][SMILE_ENSEMBLE]).all()
    assert (by_view["whisper"][FUSED] == by_view["whisper"][WHISPER]).all()
    assert (by_view["compare"][WHISPER] != by_view["compare"][SMILE_ENSEMBLE]).any()       # the views do disagree


def test_weights_are_chosen_by_held_out_uar_then_log_loss():
    labels = np.array([0, 0, 1, 1])
    right = np.array([[0.9, 0.1], [0.6, 0.4], [0.2, 0.8], [0.4, 0.6]])
    wrong = right[:, ::-1]
    assert choose_weights({"a": wrong, "b": right}, labels, 0.25) == {"a": 0.0, "b": 1.0}
    # two identical views: every weighting ties on UAR and log-loss, and equal weights come first
    assert choose_weights({"a": right, "b": right}, labels, 0.25) == {"a": 0.5, "b": 0.5}
    grid = weight_grid(3, 0.1)
    assert len(grid) == 66 and np.allclose(grid.sum(axis=1), 1)
    assert weight_grid(2, 0.25)[0].tolist() == [0.5, 0.5] and weight_grid(3, 0.25)[0].tolist() == [0.0, 0.0, 1.0]


def test_fusion_params_are_validated():
    with pytest.raises(ValueError, match="weights name"):
        ours_params(fusion={"views": ("compare", "voice"), "weights": {"compare": 1.0}, "step": 0.1, "inner_folds": 3})
    with pytest.raises(ValueError, match="sum to 1"):
        ours_params(fusion={"views": ("compare",), "weights": {"compare": 0.5}, "step": 0.1, "inner_folds": 3})
    with pytest.raises(ValueError, match="does not divide 1"):
        ours_params(fusion={"views": ("compare",), "weights": "nested", "step": 0.3, "inner_folds": 3})
    with pytest.raises(ValueError, match="layers 0-5"):
        ours_params(whisper_layers=(6,))


def test_predict_serves_our_model_from_the_features_it_was_trained_on(tiny, tiny_inputs, tmp_path):
    from conftest import TINY_WHISPER

    root, manifest, _ = tiny
    _, _, views = tiny_inputs
    params = ours_params(fusion={"views": ("compare", "voice", "whisper"), "step": 0.5, "inner_folds": 2,
                                 "weights": {"compare": 0.25, "voice": 0.25, "whisper": 0.5}})
    facts = {"model": "ours", "feature_set": "ComParE_2016", "emotions": list(EMOTIONS), "window_s": 1.0,
             "whisper": {k: TINY_WHISPER[k] for k in ("window_s", "pooling")},
             "params": params.model_dump(mode="json", include={"whisper_layers", "fusion"})}
    model = FusionModel.fit(views, manifest["label"].to_numpy(), manifest["speaker"].to_numpy(), params, facts)
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
    expected = model.predict_proba({v: x[picked] for v, x in views.items()})
    for row, probabilities in zip(rows, expected):
        np.testing.assert_allclose([row["probabilities"][e] for e in EMOTIONS], probabilities, atol=2e-4)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0)
    longest = rows[-1]
    assert longest["file"].endswith("long.wav") and abs(sum(longest["probabilities"].values()) - 1) < 1e-3
    assert longest["emotion"] == rows[1]["emotion"]           # the same recording, three times over
