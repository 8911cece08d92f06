"""The report's corpora: each other corpus's LOSO scores (stages baselines, ours) and the corpus x
corpus matrix against the networks' corpus (stage crosscorpus), for results.md, the README and metrics/corpora.json
(which ``emoser review`` and ``dvc metrics diff`` read through metrics/headline.json)."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from emoser.core import paths
from emoser.core.files import read_csv
from emoser.evaluation.scoring import scored_models
from emoser.models.classical.fusion import MODEL as OURS
from emoser.models.classical.speaker_standardisation import SPEAKER_STANDARDISED

ARROW = "→"


# every report's names of the classical models (one place: the results page and the corpora page)
LABELS = {"egemaps": "eGeMAPS + SVM", "compare": "ComParE 2016 + SVM",
          OURS: "ours: ComParE, voice, Whisper fused"}


def label(model: str) -> str:
    return LABELS.get(model, model)


def title(name: str, titles: Mapping[str, str]) -> str:
    """A corpus's name on pages (params corpora.NAME.title), else its key."""
    return titles.get(name, name)


def read_summary(path: Path) -> dict:
    """A stage's JSON summary, or {} where that stage has not run."""
    return json.loads(path.read_text()) if path.exists() else {}


def collect(main: str, main_summaries: list[dict], further: list[str]) -> dict:
    """{protocol: {model: scored block}}: ``NAME/loso`` per corpus (the main one's from its own
    summaries) and ``A→B`` per direction; only what exists."""
    out: dict = {}
    for summary in main_summaries:
        for protocol, model, result in scored_models(summary):
            if protocol == "loso":
                out.setdefault(f"{main}/loso", {})[model] = result
    for name in further:
        cv = paths.corpus_data(name).cv
        for summary in (read_summary(cv / "baselines.json"), read_summary(cv / "ours.json")):
            for protocol, model, result in scored_models(summary):
                out.setdefault(f"{name}/{protocol}", {})[model] = result
        cross = read_summary(paths.corpus_data(name).cross / "summary.json")
        for protocol, model, result in scored_models(cross):
            out.setdefault(protocol, {})[model] = result
        for protocol, block in cross.items():     # the emotions each direction is scored over
            if protocol in out and "emotions" in block:
                out[protocol]["emotions"] = block["emotions"]
    loco = read_summary(paths.LOCO / "summary.json")
    for protocol, model, result in scored_models(loco):
        out.setdefault(LOCO + protocol, {})[model] = result
    for protocol, block in loco.items():          # leave-one-corpus-out: which corpus, over which emotions
        if LOCO + protocol in out:
            out[LOCO + protocol].update({k: block[k] for k in ("emotions", "held_out") if k in block})
    return out


# leave-one-corpus-out protocols in metrics/corpora.json and the review: "loco/emodb+nemo→ravdess" (with
# two corpora, "emodb→ravdess" alone would be the pairwise matrix's direction, trained on shared emotions)
LOCO = "loco/"


LOCO_SETTINGS = {"": "as is", "+corpstd": "corpus std.", "+corprob": "corpus std. (robust)",
                 SPEAKER_STANDARDISED: "speaker std."}


def loco_table(collected: dict, titles: Mapping[str, str] = {}) -> str:
    """Leave one corpus out: one row per held-out corpus; our model as is and under each adaptation."""
    blocks = {p: b for p, b in collected.items() if isinstance(b, dict) and "held_out" in b}
    if not blocks:
        return ""
    settings = [s for s in LOCO_SETTINGS if any(OURS + s in b for b in blocks.values())]
    rows = []
    for protocol, block in blocks.items():
        trained = protocol.removeprefix(LOCO).split(ARROW)[0].split("+")
        emotions = block.get("emotions", [])
        rows.append([title(block["held_out"], titles), ", ".join(title(t, titles) for t in trained),
                     f"{len(emotions)} ({', '.join(emotions)})", f"{1 / len(emotions):.3f}" if emotions else "—",
                     *[_cell(block, OURS + s) for s in settings]])
    return _table(["held out (scored on)", "trained on", "emotions scored", "chance",
                   *[f"ours, {LOCO_SETTINGS[s]}" for s in settings]], rows)


LOCO_TEXT = ("**Leave one corpus out** (stage loco; UAR [95 % CI]): our model trained on every other corpus "
             "(the union of their emotions, each corpus weighed equally within an emotion; the fusion's weights "
             "chosen on inner leave-one-corpus-out) and scored on a corpus it never heard, over its emotions "
             "the others cover. 'corpus std.' z-scores each corpus's features over its own recordings (the "
             "held-out corpus's unlabelled audio: transductive).")


def speakers_spanning(manifest) -> tuple[int, int]:
    """(speakers whose recordings hold at least half the corpus's emotions, speakers)."""
    emotions = manifest["emotion"].nunique()
    held = manifest.groupby(manifest["speaker"].astype(str))["emotion"].nunique()
    return int((held * 2 >= emotions).sum()), int(len(held))


def speaker_note(name: str, titles: Mapping[str, str] = {}) -> str:
    """Does speaker standardisation's assumption (each speaker's recordings span the emotions) hold
    for corpus ``name``? One sentence, a warning when it fails for most speakers; '' when unread."""
    manifest_path = paths.corpus_data(name).manifest
    if not manifest_path.exists():
        return ""
    spanning, speakers = speakers_spanning(read_csv(manifest_path, dtype={"speaker": str}))
    if spanning * 2 >= speakers:
        return (f"Speaker std. assumes each speaker's recordings span the emotions: in {title(name, titles)} "
                f"{spanning} of {speakers} speakers hold at least half of them.")
    return (f"**Warning: speaker std. assumes each speaker's recordings span the emotions; in {title(name, titles)} "
            f"only {spanning} of {speakers} speakers hold at least half of them, so its speaker-std. rows remove "
            "emotion along with the speaker (they can fall to chance or below): read them with care.**")


def _cell(block: dict, model: str) -> str:
    result = block.get(model)
    if not result:
        return "—"
    pooled = result["pooled"]
    return f"{pooled['uar']:.3f} [{pooled['uar_ci']['low']:.3f}, {pooled['uar_ci']['high']:.3f}]"


def _models(blocks: list[dict]) -> list[str]:
    names = dict.fromkeys(m for b in blocks for m, r in b.items() if isinstance(r, dict))
    bases = dict.fromkeys(m.removesuffix(SPEAKER_STANDARDISED) for m in names)
    return sorted(bases, key=lambda m: (m != OURS, m))


def _table(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(["| " + " | ".join(header) + " |", "|" + "---|" * len(header),
                      *("| " + " | ".join(r) + " |" for r in rows)])


def matrix_table(collected: dict, main: str, other: str, label=label, titles: Mapping[str, str] = {},
                 only: tuple[str, ...] | None = None) -> str:
    """One row per model (``only``: these) and setting; columns: within each corpus (LOSO) and each direction."""
    a, b = title(main, titles), title(other, titles)
    columns = [(f"{main}/loso", f"{a} → {a} (LOSO)"), (f"{main}{ARROW}{other}", f"{a} → {b}"),
               (f"{other}{ARROW}{main}", f"{b} → {a}"), (f"{other}/loso", f"{b} → {b} (LOSO)")]
    blocks = [collected.get(key, {}) for key, _ in columns]
    rows = []
    for model in [m for m in _models(blocks) if only is None or m in only]:
        for suffix, setting in (("", "as is"), (SPEAKER_STANDARDISED, "speaker std.")):
            cells = [_cell(b, model + suffix) for b in blocks]
            if any(c != "—" for c in cells):
                rows.append([label(model), setting, *cells])
    return _table(["model (UAR [95 % CI]; trained → scored)", "setting", *[t for _, t in columns]], rows)


def corpora_section(collected: dict, main: str, further: list[str], label=label, titles: Mapping[str, str] = {}
                    ) -> str:
    """results.md's section: what each corpus is, and the matrix per further corpus."""
    loco = loco_table(collected, titles)
    head = [LOCO_TEXT, "", loco, ""] if loco else []
    if not further:
        return "\n".join(head) or "No further corpora in this run (params `corpora`)."
    parts = head + ["Each further corpus is fetched and scored by the classical models under leave-one-speaker-out "
             "(LOSO) on its own; then every model is trained on all of one corpus and scored on all of the "
             "other, over the emotions both have (diagonal cells: within the corpus, all its emotions). "
             "'speaker std.' z-scores every speaker of both corpora over their own recordings (the test "
             "corpus's unlabelled audio). The networks are not trained on further corpora (cost; see "
             "docs/corpora.md)."]
    for name in further:
        cross = read_summary(paths.corpus_data(name).cross / "summary.json")
        shared = {p: b.get("emotions") for p, b in cross.items() if isinstance(b, dict)}
        report = read_summary(paths.corpus_data(name).raw / "fetch_report.json")
        facts = (f"{report.get('utterances', '?')} recordings, {report.get('speakers', '?')} speakers, "
                 f"{len(report.get('per_emotion', {}))} emotions ({', '.join(report.get('per_emotion', {}))})"
                 if report else "not fetched")
        emotions = next((e for e in shared.values() if e), None)
        parts += ["", f"### {title(name, titles)}: {facts}", "",
                  f"Shared with {title(main, titles)}: {', '.join(emotions) if emotions else '—'}"
                  + (f" (chance UAR across corpora: {1 / len(emotions):.3f})." if emotions else ".")
                  + (f" {speaker_note(name, titles)}" if speaker_note(name, titles) else ""), "",
                  matrix_table(collected, main, name, label, titles)]
    return "\n".join(parts)


def headline_rows(collected: dict, main: str, further: list[str], label=label, titles: Mapping[str, str] = {}
                  ) -> str:
    """The README's corpora tables: leave one corpus out, then per further corpus our model's matrix (LOSO and
    across; every model's on the corpora page)."""
    loco = loco_table(collected, titles)
    head = [LOCO_TEXT + "\n\n" + loco] if loco else []
    if not further:
        return "\n\n".join(head)
    return "\n\n".join(head + [f"**{title(main, titles)} and {title(name, titles)}**, ours (UAR [95 % CI]; every "
                                f"model: reports/corpora.md):\n\n" + matrix_table(collected, main, name, label, titles,
                                                                                   only=(OURS,))
                                for name in further])
