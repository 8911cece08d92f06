"""Calibration: ECE and friends on hand-checked numbers, temperature recovered from data it made,
and the in-fold procedure on the tiny corpus (no test label shapes its own temperature)."""
import numpy as np
import pytest

from conftest import ours_params
from emoser.corpora.emodb import EMOTIONS
from emoser.models.classical.calibration import (
    CALIBRATED,
    RAW,
    brier_score,
    expected_calibration_error,
    fit_temperature,
    held_out_temperature,
    negative_log_likelihood,
    probabilities_of,
    reliability,
    run_calibration,
    scaled,
    shared_fits,
    summarise,
)
from emoser.models.classical.fusion import FUSED, fit_fold, inner_groups, run_ours, standardised_views
from emoser.params.ours import CalibrationParams


def test_ece_reliability_nll_and_brier_by_hand():
    p = np.array([[0.9, 0.1], [0.9, 0.1], [0.6, 0.4], [0.3, 0.7]])
    y = np.array([0, 1, 0, 1])
    # bins of width 0.5: [0.5, 1) holds all four; confidence mean (0.9+0.9+0.6+0.7)/4 = 0.775, accuracy 3/4
    assert expected_calibration_error(p, y, 2) == pytest.approx(0.025)
    # 10 bins: 0.9 -> bin 9 (acc 1/2, conf 0.9), 0.6 -> bin 6 (1, 0.6), 0.7 -> bin 7 (1, 0.7)
    assert expected_calibration_error(p, y, 10) == pytest.approx((2 * 0.4 + 0.4 + 0.3) / 4)
    table = reliability(p, y, 10)
    assert table["count"].tolist() == [0] * 6 + [1, 1, 0, 2] and np.isnan(table.loc[0, "accuracy"])
    assert negative_log_likelihood(p, y) == pytest.approx(-np.mean(np.log([0.9, 0.1, 0.6, 0.7])))
    assert brier_score(p, y) == pytest.approx((0.02 + 1.62 + 0.32 + 0.18) / 4)


def test_temperature_scaling_keeps_the_ranking_and_is_found_again():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4000, 7))
    truth = scaled(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True), 1.0)
    labels = np.array([rng.choice(7, p=row) for row in truth])
    overconfident = scaled(truth, 0.5)        # what a model that is too sure would say
    assert (overconfident.argmax(axis=1) == truth.argmax(axis=1)).all()
    found = fit_temperature(overconfident, labels)
    assert found == pytest.approx(2.0, rel=0.1)          # undoes the sharpening
    assert expected_calibration_error(scaled(overconfident, found), labels, 15) < \
        expected_calibration_error(overconfident, labels, 15) / 3
    zero = np.array([[0.7, 0.3, 0.0]])
    assert scaled(zero, 0.5)[0, 2] == 0 and scaled(zero, 0.5).sum() == pytest.approx(1)


def test_inner_groups_deal_speakers_round_robin():
    speakers = np.array(["03", "08", "08", "09", "10", "11", "03"])
    groups = inner_groups(speakers, 3)
    assert [sorted(set(speakers[g])) for g in groups] == [["03", "10"], ["08", "11"], ["09"]]
    assert sorted(np.concatenate(groups)) == list(range(7))
    assert len(inner_groups(np.array(["03", "03"]), 3)) == 1


def test_in_fold_calibration_on_the_tiny_corpus(tiny_inputs):
    manifest, folds, views = tiny_inputs
    params = ours_params(ablation=False)
    loso = folds[folds["protocol"] == "loso"]
    predictions, _, weights = run_ours(manifest, views, loso, params)   # each fold's weights, as stage ours chose them
    table = run_calibration(manifest, views, loso, params, params.calibration, weights, jobs=2)
    # the raw probabilities are ours': each fold fused with the weights chosen in it
    predicted = predictions.set_index(["model", "utterance"])["predicted"]
    raw_top = [EMOTIONS[i] for i in probabilities_of(table, RAW).argmax(axis=1)]
    assert raw_top == predicted.loc[list(zip(table["model"], table["utterance"]))].tolist()
    assert sorted(table["model"].unique()) == ["ours", "ours+spkstd"]
    assert len(table) == 2 * len(manifest) and table.groupby("model")["utterance"].nunique().eq(len(manifest)).all()
    # one temperature per fold, never from the fold's own test speaker: refitting with that speaker's
    # labels scrambled leaves it unchanged
    ours = table[table["model"] == "ours"]
    assert ours.groupby("fold")["temperature"].nunique().eq(1).all()
    raw, calibrated = probabilities_of(ours, RAW), probabilities_of(ours, CALIBRATED)
    assert (raw.argmax(axis=1) == calibrated.argmax(axis=1)).all()
    np.testing.assert_allclose(calibrated.sum(axis=1), 1, atol=1e-5)
    fold = ours["fold"].iloc[0]
    scrambled = manifest.copy()
    test = (manifest["speaker"] == fold).to_numpy()
    for column in ("label", "emotion"):     # the pair moves together: a label names one emotion
        scrambled.loc[test, column] = np.roll(manifest.loc[test, column].to_numpy(), 1)
    again = run_calibration(scrambled, views, loso, params, params.calibration, weights, jobs=2)
    before = ours.set_index("fold")["temperature"].groupby(level=0).first()
    after = again[again["model"] == "ours"].set_index("fold")["temperature"].groupby(level=0).first()
    assert after[fold] == before[fold]
    summary = summarise(table, params.calibration)
    assert summary["ours"][RAW]["accuracy"] == summary["ours"][CALIBRATED]["accuracy"]
    assert set(summary["ours"]["temperature"]) == set(ours["fold"]) and "served_temperature" not in summary
    assert summary["protocol"] == "loso" and summary["bins"] == 10 and len(EMOTIONS) == raw.shape[1]


def test_fits_on_the_same_rows_are_shared_and_give_each_fold_what_its_own_fit_would(tiny_inputs):
    """Each training speaker held out once: fold f without speaker s fits on the rows fold s without f
    fits on. One fit serves both (half the inner fits), and every temperature and probability is what
    fitting each fold's own models gives."""
    manifest, folds, views = tiny_inputs
    params = ours_params(ablation=False, speaker_standardisation=(False,),
                         calibration={"protocol": "loso", "inner_folds": None, "bins": 10})
    loso = folds[folds["protocol"] == "loso"]
    _, _, weights = run_ours(manifest, views, loso, params)
    table = run_calibration(manifest, views, loso, params, params.calibration, weights, jobs=1)
    labels, speakers = manifest["label"].to_numpy(), manifest["speaker"].to_numpy()
    names = sorted(set(speakers))
    assert len(names) >= 3
    rows = {s: np.flatnonzero(speakers == s) for s in names}
    features = standardised_views(views, speakers, False)
    for fold in names:
        chosen = weights[(weights["model"] == "ours") & (weights["fold"].astype(str) == fold)]
        chosen = {v: float(w) for v, w in chosen.iloc[0].drop(["model", "protocol", "fold"]).dropna().items()}
        train = np.flatnonzero(speakers != fold)

        def fused(fit, held, chosen=chosen):
            return fit_fold(features, labels, speakers, fit, held, params, False, len(EMOTIONS), chosen)[0][FUSED]
        inner = [(rows[s], fused(np.setdiff1d(train, rows[s]), rows[s])) for s in names if s != fold]
        held_rows = np.concatenate([r for r, _ in inner])
        temperature = fit_temperature(np.concatenate([p for _, p in inner]), labels[held_rows])
        mine = table[(table["model"] == "ours") & (table["fold"].astype(str) == fold)]
        assert mine["temperature"].iloc[0] == pytest.approx(temperature, abs=1e-6)
        raw = fused(train, rows[fold])
        np.testing.assert_allclose(probabilities_of(mine, RAW), raw, atol=1e-6)
        np.testing.assert_allclose(probabilities_of(mine, CALIBRATED), scaled(raw, temperature), atol=2e-6)
    # the grouping: per fold one raw fit and one per other speaker; each pair of folds shares one
    n = len(names)
    tasks = [("ours", f, None, s, None, np.setdiff1d(np.arange(n), [f, s]), None, None)
             for f in range(n) for s in range(n) if s != f]
    tasks += [("ours", f, None, None, None, np.setdiff1d(np.arange(n), [f]), None, None) for f in range(n)]
    assert len(shared_fits(tasks)) == n * (n - 1) // 2 + n
    assert len(shared_fits([(*t[:0], "ours+spkstd", *t[1:]) for t in tasks] + tasks)) == 2 * (n * (n - 1) // 2 + n)


def test_calibration_params_are_checked():
    with pytest.raises(ValueError, match="inner_folds"):
        CalibrationParams(protocol="loso", inner_folds=1, bins=10)
    with pytest.raises(ValueError, match="protocol"):
        CalibrationParams(protocol="leaky", inner_folds=3, bins=10)


def test_the_served_temperature_is_fitted_on_the_held_out_rows_whose_emotion_was_trained():
    """Stage fit's temperature: the fused held-out probabilities (weight 0: left out), rows whose
    emotion the other groups lacked (probability 0) left out; overconfident -> T > 1."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 400)
    sure = np.full((400, 3), 0.05)
    sure[np.arange(400), (labels + (rng.random(400) < 0.5)) % 3] = 0.9       # right half the time, 0.9 sure
    sure /= sure.sum(axis=1, keepdims=True)
    other = rng.dirichlet(np.ones(3), 400)
    rows = np.arange(400)[::-1]
    truth = labels[rows]
    held = {"a": sure[rows], "b": other[rows]}
    got = held_out_temperature((rows, held), {"a": 1.0, "b": 0.0}, labels, "inner leave-one-corpus-out")
    assert got["value"] == round(fit_temperature(sure[rows], truth), 6) and got["value"] > 1.5
    assert got["recordings"] == 400 and got["fitted_on"] == "inner leave-one-corpus-out"
    unseen = held["a"].copy()
    unseen[np.arange(50), truth[:50]] = 0.0                # their emotion: held out of every model
    unseen /= unseen.sum(axis=1, keepdims=True)
    partly = held_out_temperature((rows, {"a": unseen}), {"a": 1.0}, labels, "x")
    assert partly["recordings"] == 350 and partly["value"] == round(fit_temperature(unseen[50:], truth[50:]), 6)
    assert held_out_temperature((rows[:1], {"a": sure[:1]}), {"a": 1.0}, labels, "x")["value"] == 1.0
