"""Several corpora: nEMO's layout, our model trained on a union of corpora (each weighed equally within
an emotion), and leave-one-corpus-out with and without per-corpus adaptation. Audio and features made
here, tiny; the real nEMO copy when present."""
from __future__ import annotations

import zipfile

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
import yaml

from conftest import REPO, tone
from emoser.core.errors import EmoserError
from emoser.corpora.fetching import fetch
from emoser.models.classical.fusion import FusionModel, corpus_balance, inner_probabilities
from emoser.models.classical.loco import (
    HeldOutViews,
    Recordings,
    adapted,
    leave_one_corpus_out,
    pool,
    standardise,
    union_emotions,
)
from emoser.params.ours import CalibrationParams, OursParams

SR = 8000
NEMO_LABELS = yaml.safe_load((REPO / "params.yaml").read_text())["corpora"]["nemo"]["labels"]
SHARED_NEMO = REPO.parent / "shared" / "nemo"
OURS = OursParams(feature_set="ComParE_2016", feature_counts=(5, "all"), C=0.1, whisper_layers=(0,),
                  fusion={"views": ("compare", "voice"), "weights": "nested", "step": 0.25, "inner_folds": 2},
                  speaker_standardisation=(False,), ablation=False,
                  calibration=CalibrationParams(protocol="loso", bins=10), jobs=1)
CENTRES = {"anger": 0, "happiness": 1, "sadness": 2, "boredom": 3, "surprise": 4}


# --- nEMO's layout ---------------------------------------------------------------------------------

def _nemo(folder, names):
    for i, name in enumerate(names):
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, tone(0.3, SR, 120 + 10 * i, i), SR)
    return folder


def test_nemo_archive_as_its_repository_holds_it(tmp_path):
    """The repository's archive (nEMO-main/samples/*.wav, data.tsv): speaker, emotion and sentence from
    each file name, surprised mapped to surprise by the default map, the table and stray files left out."""
    names = [f"nEMO-main/samples/{s}_{e}_{n}.wav" for s in ("EB0", "MK0") for e in NEMO_LABELS for n in (1, 12)]
    folder = _nemo(tmp_path / "src", names)
    (folder / "nEMO-main" / "data.tsv").write_text("file_id\temotion\n")
    (folder / "nEMO-main" / "README.md").write_text("x")
    archive = tmp_path / "main.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    report = fetch(str(archive), tmp_path / "raw", layout="nemo", labels=NEMO_LABELS, sha256=None, timeout_s=5,
                   max_bytes=2**26)
    manifest = pd.read_csv(tmp_path / "raw" / "manifest.csv", dtype=str)
    assert len(manifest) == 24 and report["layout"] == "nemo"
    assert set(manifest["speaker"]) == {"EB0", "MK0"} and set(manifest["sentence"]) == {"1", "12"}
    assert set(manifest["emotion"]) == {"anger", "fear", "happiness", "neutral", "sadness", "surprise"}
    assert set(manifest.loc[manifest["emotion"] == "surprise", "raw_emotion"]) == {"surprised"}
    assert sorted((tmp_path / "raw" / "wav").iterdir())[0].name == "EB0_anger_1.wav"


def test_nemo_folder_skips_names_out_of_its_layout(tmp_path):
    names = [f"samples/KS0_{e}_3.flac" for e in NEMO_LABELS] + ["samples/KS0_joy_2.flac", "samples/notes.flac"]
    report = fetch(str(_nemo(tmp_path / "src", names)), tmp_path / "raw", layout="nemo", labels=NEMO_LABELS,
                   sha256=None, timeout_s=5, max_bytes=2**26)
    assert report["utterances"] == 6
    reasons = " ".join(s["reason"] for s in report["skipped_files"])
    assert "unknown emotion 'joy'" in reasons and "'notes.flac' is not a nEMO file name" in reasons
    with pytest.raises(EmoserError, match="no recordings of emotion"):   # a speaker's anger alone
        fetch(str(_nemo(tmp_path / "one", ["samples/EB0_anger_1.flac"])), tmp_path / "raw2", layout="nemo",
              labels=NEMO_LABELS, sha256=None, timeout_s=5, max_bytes=2**26)
    assert not (tmp_path / "raw2").exists()


@pytest.mark.skipif(not (SHARED_NEMO / "labels.csv").is_file(), reason="no local nEMO copy")
def test_the_local_nemo_copy_reads_as_its_table_says(tmp_path):
    """Every file of the local copy (FLAC, 16 kHz): the layout's speaker and emotion agree with labels.csv."""
    fetch(str(SHARED_NEMO), tmp_path / "raw", layout="nemo", labels=NEMO_LABELS, sha256=None, timeout_s=5,
          max_bytes=2**32)
    manifest = pd.read_csv(tmp_path / "raw" / "manifest.csv", dtype=str).set_index("utterance")
    table = pd.read_csv(SHARED_NEMO / "labels.csv", dtype=str)
    table.index = table["file"].str.rsplit("/", n=1).str[-1].str.removesuffix(".flac")
    assert len(manifest) == len(table) == 1265
    assert (manifest.loc[table.index, "speaker"] == table["speaker"]).all()
    assert (manifest.loc[table.index, "emotion"] == table["emotion"]).all()


# --- several corpora -------------------------------------------------------------------------------

def test_corpus_balance_weighs_corpora_equally_within_each_emotion():
    labels = np.array([0] * 90 + [1] * 10 + [0] * 10 + [2] * 30)
    corpora = np.array(["a"] * 100 + ["b"] * 40)
    weights = corpus_balance(labels, corpora)
    assert weights is not None and weights.sum() == pytest.approx(len(labels))
    def total(label, corpus):
        return weights[(labels == label) & (corpora == corpus)].sum()
    assert total(0, "a") == pytest.approx(total(0, "b"))          # 90 vs 10 recordings, one weight in all
    for label, count in ((0, 100), (1, 10), (2, 30)):              # each emotion keeps its count's weight
        assert weights[labels == label].sum() == pytest.approx(count * len(labels) / weights.sum() * weights.sum()
                                                               / len(labels))
    assert corpus_balance(labels, np.array(["a"] * len(labels))) is None
    assert corpus_balance(labels, None) is None


def _corpus(name, emotions, speakers, per_class, offset, scale, seed) -> Recordings:
    """Columns 0..4 say the emotion the same way in every corpus; each corpus adds its own set-up (a
    gain, and an offset on column ``offset[0]`` that mimics that emotion's cue): what per-corpus
    standardisation removes."""
    rng = np.random.default_rng(seed)
    rows, values = [], []
    for s in range(speakers):
        for label, emotion in enumerate(emotions):
            for k in range(per_class):
                x = rng.normal(0, 1.0, 30)
                x[CENTRES[emotion]] += 3.0
                rows.append({"utterance": f"{name}-{s}-{emotion}-{k}", "speaker": f"{s:02d}", "emotion": emotion,
                             "label": label})
                x[offset[0]] += offset[1]
                values.append(x * scale)
    matrix = np.array(values)
    return Recordings(name, pd.DataFrame(rows), {"compare": matrix, "voice": matrix[:, :15].copy()})


def test_leave_one_corpus_out_scores_each_corpus_over_what_the_others_cover():
    a = _corpus("a", ("anger", "boredom", "happiness", "sadness"), 3, 6, offset=(0, 3.0), scale=1.0, seed=1)
    b = _corpus("b", ("happiness", "anger", "sadness"), 3, 6, offset=(1, 3.0), scale=3.0, seed=2)
    c = _corpus("c", ("anger", "sadness", "surprise", "happiness"), 3, 6, offset=(2, 3.0), scale=0.5, seed=3)
    assert union_emotions([a.manifest, b.manifest, c.manifest]) == ["anger", "boredom", "happiness", "sadness",
                                                                    "surprise"]
    predictions, facts, _ = leave_one_corpus_out([a, b, c], OURS, ("none", "corpus", "corpus_robust"), jobs=1)
    assert set(predictions["protocol"]) == {"b+c→a", "a+c→b", "a+b→c"}
    assert set(predictions["model"]) == {"ours", "ours+corpstd", "ours+corprob"}
    # a's boredom: no other corpus has it, so it is not scored; c's surprise likewise
    held_a = predictions[(predictions["protocol"] == "b+c→a") & (predictions["model"] == "ours")]
    assert len(held_a) == 3 * 3 * 6 and set(held_a["emotion"]) == {"anger", "happiness", "sadness"}
    assert set(held_a["predicted"]) <= {"anger", "happiness", "sadness"}
    assert facts["b+c→a"]["ours"]["training_emotions"] == ["happiness", "anger", "sadness", "surprise"]
    assert set(facts["a+b→c"]["ours"]["weights"]) == {"compare", "voice"}

    def accuracy(protocol, model):
        part = predictions[(predictions["protocol"] == protocol) & (predictions["model"] == model)]
        return float((part["emotion"] == part["predicted"]).mean())
    for protocol in ("b+c→a", "a+c→b", "a+b→c"):     # the set-ups differ: adaptation recovers the emotions
        assert accuracy(protocol, "ours+corpstd") > 0.9 and accuracy(protocol, "ours+corprob") > 0.9
    assert max(accuracy(p, "ours") for p in ("b+c→a", "a+c→b", "a+b→c")) < 0.75


def test_stage_fit_reads_locos_fits_as_its_inner_leave_one_corpus_out_to_the_last_bit(tmp_path):
    """Stage fit's inner leave-one-corpus-out fits are stage loco's held-out fits: what loco stores
    (saved and loaded back) equals what fit would compute, bit for bit, as is and adapted, and so do the
    weights chosen on it; a corpus changed since loco ran, or another C, and fit computes its own."""
    a = _corpus("a", ("anger", "boredom", "happiness", "sadness"), 3, 4, offset=(0, 3.0), scale=1.0, seed=1)
    b = _corpus("b", ("happiness", "anger", "sadness"), 3, 4, offset=(1, 3.0), scale=3.0, seed=2)
    c = _corpus("c", ("anger", "sadness", "surprise", "happiness"), 3, 4, offset=(2, 3.0), scale=0.5, seed=3)
    _, _, shared = leave_one_corpus_out([a, b, c], OURS, ("none", "corpus"), jobs=2)
    shared.save(tmp_path / HeldOutViews.FILE)
    shared = HeldOutViews.load(tmp_path / HeldOutViews.FILE)
    assert HeldOutViews.load(tmp_path / "missing.npz") is None
    for adaptation in ("none", "corpus"):
        pooled = pool([adapted(x, adaptation) for x in (a, b, c)])
        every = np.arange(len(pooled.labels))
        rows, held = inner_probabilities(pooled.views, pooled.labels, pooled.speakers, every, OURS,
                                         len(pooled.emotions), pooled.corpora)
        read = shared.inner([a, b, c], OURS, adaptation, pooled)
        assert np.array_equal(read[0], rows) and set(read[1]) == {"compare", "voice"}
        for view in held:
            assert read[1][view].dtype == held[view].dtype and np.array_equal(read[1][view], held[view])
        facts = {"emotions": pooled.emotions}
        assert (FusionModel.fit(pooled.views, pooled.labels, pooled.speakers, OURS, facts, pooled.corpora, read).weights
                == FusionModel.fit(pooled.views, pooled.labels, pooled.speakers, OURS, facts, pooled.corpora).weights)
    pooled = pool([a, b, c])
    assert shared.inner([a, b, c], OURS, "corpus_robust", pooled) is None      # not computed by loco
    assert shared.inner([a, b, c], OURS.model_copy(update={"C": 1.0}), "none", pooled) is None
    edited = Recordings("c", c.manifest, {**c.views, "voice": c.views["voice"] + 1e-9})
    assert shared.inner([a, b, edited], OURS, "none", pooled) is None


def test_pooled_labels_follow_the_union_and_robust_scaling_ignores_outliers():
    a = _corpus("a", ("anger", "sadness"), 2, 3, (0, 0.0), 1.0, 1)
    b = _corpus("b", ("sadness", "surprise"), 2, 3, (0, 0.0), 1.0, 2)
    pooled = pool([a, b])
    assert pooled.emotions == ["anger", "sadness", "surprise"]
    assert list(pooled.labels[:6]) == [0, 0, 0, 1, 1, 1] and list(pooled.labels[12:15]) == [1, 1, 1]
    assert set(pooled.corpora) == {"a", "b"}
    x = np.r_[np.arange(99.0), 1e6][:, None]
    assert abs(np.median(standardise(x, robust=True))) < 1e-9 and standardise(x)[:99].std() < 0.05
    empty, facts, shared = leave_one_corpus_out([a], OURS, ("none",), 1)
    assert empty.empty and facts == {} and shared is None
    with pytest.raises(EmoserError, match="stage loco: the other corpora cover 1 emotion"):
        leave_one_corpus_out([a, _corpus("c", ("sadness", "boredom"), 2, 3, (0, 0.0), 1.0, 3)], OURS, ("none",), 1)


def test_the_ceiling_tool_scores_each_view_the_oracle_and_the_inner_pick():
    """tools/loco_ceiling.py on three tiny corpora whose set-ups differ: a view made of noise is at chance,
    the oracle is at least every single view, the inner pick is one of the candidates, and per-corpus
    standardisation lifts the informative view across corpora."""
    from emoser.models.classical.loco import adapted
    from loco_ceiling import held_out_table, markdown
    corpora = [_corpus("a", ("anger", "happiness", "sadness"), 3, 6, offset=(0, 3.0), scale=1.0, seed=1),
               _corpus("b", ("happiness", "anger", "sadness"), 3, 6, offset=(1, 3.0), scale=3.0, seed=2),
               _corpus("c", ("anger", "sadness", "happiness"), 3, 6, offset=(2, 3.0), scale=0.5, seed=3)]
    noise = np.random.default_rng(0)
    corpora = [Recordings(c.name, c.manifest, {"compare": c.views["compare"],
                                               "voice": noise.normal(size=(len(c.manifest), 15))}) for c in corpora]
    Cs = (0.01, 1.0)
    as_is = held_out_table(corpora, ("compare", "voice"), Cs)
    standardised = held_out_table([adapted(c, "corpus") for c in corpora], ("compare", "voice"), Cs)
    assert [r["held out"] for r in as_is] == ["a", "b", "c"]
    for row, std in zip(as_is, standardised):
        singles = [row[f"{v}, C {C:g}"] for v in ("compare", "voice") for C in Cs]
        assert row["oracle fusion"] >= max(singles) - 1e-12
        assert row["inner pick's UAR"] <= row["oracle fusion"] + 1e-12
        assert row["inner pick"].startswith(("C 0.01:", "C 1:"))
        assert max(row[f"voice, C {C:g}"] for C in Cs) < 0.65            # noise: near chance (1/3)
        assert std["compare, C 1"] > 0.85                                # the set-up removed, the emotion heard
    table = markdown(as_is)
    assert table.splitlines()[0].startswith("| held out | compare, C 0.01 |") and table.count("\n") == 4
    assert np.mean([s["compare, C 1"] for s in standardised]) > np.mean([r["compare, C 1"] for r in as_is]) + 0.1
