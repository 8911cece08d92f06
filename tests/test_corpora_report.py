"""Stage corpora's gathering: each further corpus's LOSO and both cross-corpus directions in one
matrix, in metrics/corpora.json (which the review reads beside the main corpus's headline metrics),
the README's table and reports/corpora.md."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from emoser.core import paths
from emoser.evaluation.scoring import summarise_predictions
from emoser.reporting.corpora import collect, matrix_table
from emoser.reporting.results import headline_metrics, prediction_table, workspace
from emoser.stages import corpora as stage

EMOTIONS = ("neutral", "anger", "sadness")


def _predictions(protocol: str, models: dict[str, float], n: int = 30, seed: int = 0) -> pd.DataFrame:
    """n recordings, each model right on about the given share of them."""
    rng = np.random.default_rng(seed)
    actual = rng.choice(EMOTIONS, n)
    tables = []
    for model, share in models.items():
        right = rng.random(n) < share
        predicted = np.where(right, actual, np.roll(actual, 1))
        speakers = [f"{i % 3:02d}" for i in range(n)]
        tables.append(pd.DataFrame({"protocol": protocol, "model": model, "fold": speakers,
                                    "utterance": [f"u{i}" for i in range(n)], "speaker": speakers,
                                    "emotion": actual, "predicted": predicted}))
    return pd.concat(tables, ignore_index=True)


def _write(path, table: pd.DataFrame, emotions=EMOTIONS) -> dict:
    path.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(path.with_suffix(".csv"), index=False)
    summary = summarise_predictions(table, emotions, 100, 0, 0.95)
    path.write_text(json.dumps(summary))
    return summary


def test_gathered_matrix_metrics_and_review_rows(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    where = paths.corpus_data("rav")
    _write(where.cv / "baselines.json", _predictions("loso", {"compare": 0.6, "compare+spkstd": 0.7}))
    _write(where.cv / "ours.json", _predictions("loso", {"ours": 0.8, "ours+spkstd": 0.9}))
    cross = pd.concat([_predictions("main→rav", {"ours": 0.4, "compare": 0.3}, seed=1),
                       _predictions("rav→main", {"ours": 0.5, "ours+spkstd": 0.55}, seed=2)])
    where.cross.mkdir(parents=True)
    cross.to_csv(where.cross / "predictions.csv", index=False)
    summary = {}
    for protocol, part in cross.groupby("protocol"):
        summary.update(summarise_predictions(part, EMOTIONS, 100, 0, 0.95))
        summary[protocol]["emotions"] = list(EMOTIONS)
    (where.cross / "summary.json").write_text(json.dumps(summary))
    main_loso = summarise_predictions(_predictions("loso", {"ours": 0.85}, seed=3), EMOTIONS, 100, 0, 0.95)

    # leave one corpus out (stage loco): one held-out corpus, as is and adapted
    loco = _predictions("main+other→rav", {"ours": 0.45, "ours+corpstd": 0.65}, seed=4)
    paths.LOCO.mkdir(parents=True)
    loco.to_csv(paths.LOCO / "predictions.csv", index=False)
    loco_summary = summarise_predictions(loco, EMOTIONS, 100, 0, 0.95)
    loco_summary["main+other→rav"].update(emotions=list(EMOTIONS), held_out="rav")
    (paths.LOCO / "summary.json").write_text(json.dumps(loco_summary))

    collected = collect("main", [main_loso], ["rav"])
    assert set(collected) == {"main/loso", "rav/loso", "main→rav", "rav→main", "loco/main+other→rav"}
    table = matrix_table(collected, "main", "rav")
    header, _, *rows = table.splitlines()
    assert header.endswith("| main → main (LOSO) | main → rav | rav → main | rav → rav (LOSO) |")
    ours = next(r for r in rows if r.startswith("| ours: ComParE, voice, Whisper fused | as is |"))
    cells = [c.strip() for c in ours.strip("|").split("|")][2:]
    assert [c.split(" ")[0] for c in cells] == [f"{collected[k]['ours']['pooled']['uar']:.3f}"
                                                for k in ("main/loso", "main→rav", "rav→main", "rav/loso")]
    assert any(r.startswith("| ComParE 2016 + SVM | speaker std. | — | — | — |") for r in rows)

    # the stage: metrics/corpora.json (without the main corpus's own LOSO: metrics/headline.json has it),
    # the predictions the review pairs, the page, the README block
    paths.METRICS.mkdir()
    (paths.METRICS / "ours.json").write_text(json.dumps(main_loso))
    corpus = "{layout: ravdess, source: x, timeout_s: 60, max_archive_mb: 10}"
    (tmp_path / "params.yaml").write_text(f"corpora:\n  main: {corpus}\n  rav: {corpus}\nroles: {{networks: main}}\n")
    (tmp_path / "README.md").write_text(f"# x\n{stage.CORPORA_START}\n{stage.CORPORA_END}\n")
    stage.main([])
    written = json.loads(paths.CORPORA_METRICS.read_text())
    assert set(written) == {"rav/loso", "main→rav", "rav→main", "loco/main+other→rav"}
    assert written["main→rav"]["emotions"] == list(EMOTIONS) and written["loco/main+other→rav"]["held_out"] == "rav"
    readme = (tmp_path / "README.md").read_text()
    assert "| main → rav |" in readme
    loco_row = next(line for line in readme.splitlines() if line.startswith("| rav | main, other |"))
    as_is, adapted = (float(c.strip().split(" ")[0]) for c in loco_row.strip("|").split("|")[4:6])
    assert (as_is, adapted) == (round(written["loco/main+other→rav"]["ours"]["pooled"]["uar"], 3),
                                round(written["loco/main+other→rav"]["ours+corpstd"]["pooled"]["uar"], 3))
    assert "chance" in readme and "| 3 (neutral, anger, sadness) | 0.333 |" in loco_row
    assert "### rav: not fetched" in paths.CORPORA_REPORT.read_text()
    review = headline_metrics(workspace, corpora=True)
    assert review["rav→main"]["ours+spkstd"]["uar"] == written["rav→main"]["ours+spkstd"]["pooled"]["uar"]
    assert "rav/loso" not in headline_metrics(workspace)          # the report's headline: the main corpus only
    pairs = prediction_table(workspace, corpora=True)
    assert set(pairs["protocol"]) == {"rav/loso", "main→rav", "rav→main", "loco/main+other→rav"}
    assert len(pairs) == 30 * 10


def test_the_page_warns_where_speakers_do_not_span_the_emotions(tmp_path, monkeypatch):
    """Speaker standardisation assumes each speaker's recordings span the emotions: the corpora page says
    so where it holds and warns where it fails (26 of 29 speakers with one emotion each, as on a corpus
    where speaker std. fell from 0.732 to 0.205 under LOSO and nothing warned)."""
    from emoser.reporting.corpora import speaker_note, speakers_spanning
    monkeypatch.chdir(tmp_path)
    spanning = pd.DataFrame({"speaker": ["01"] * 3 + ["02"] * 3, "emotion": list(EMOTIONS) * 2})
    single = pd.DataFrame({"speaker": [f"{i:02d}" for i in range(29)] + ["00", "01", "02"] * 2,
                           "emotion": [EMOTIONS[i % 3] for i in range(29)] + ["anger", "sadness", "neutral"] * 2})
    assert speakers_spanning(spanning) == (2, 2) and speakers_spanning(single) == (3, 29)
    assert speaker_note("held") == ""                       # not fetched: nothing to say
    for name, table, warned in (("good", spanning, False), ("bad", single, True)):
        where = paths.corpus_data(name)
        where.raw.mkdir(parents=True)
        table.to_csv(where.manifest, index=False)
        note = speaker_note(name, {"bad": "One-emotion corpus"})
        assert note.startswith("**Warning") == warned, note
    assert "in One-emotion corpus only 3 of 29 speakers" in speaker_note("bad", {"bad": "One-emotion corpus"})
