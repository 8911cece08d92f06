"""The interactive results page, ``reports/browse.html`` (stage report): click a confusion-matrix
cell, hear its recordings.

One self-contained HTML file (no build step, nothing from the network): the predictions of every
model under every leak-free protocol and the hold-out split, the recordings' facts (speaker, sex,
sentence with an English gloss, emotion, the listeners' recognition and naturalness from
``erkennung.txt``), and a small script. Audio is not copied: each row plays
``../data/corpora/NAME/raw/wav/<file>`` from the workspace the page sits in, so open it where ``dvc repro``
(or ``dvc pull``) has put the corpus. The leaky protocol is left out: its test sets hold augmented
copies, which are not in the corpus's raw/ folder.

What the page offers: pick model and protocol; the confusion matrix (a table of buttons: counts,
row percentages, UAR with its interval); a cell's recordings with an audio player each, their
facts and, where the pipeline stored them, the model's class probabilities (our model under LOSO:
calibrated, stage calibrate); a second model to compare on the same recordings (where they
disagree and which one the listeners side with); a filter for recordings listeners recognised
at ≥ 90 % that the model gets wrong; UAR per speaker for the selected model and protocol.
"""
from __future__ import annotations

import html
import json
from collections.abc import Mapping

import numpy as np
import pandas as pd

from emoser.corpora.manifest import emotion_order

PROTOCOL_TITLES = {"loso": "LOSO (leave one speaker out)", "kfold": "k-fold", "holdout": "hold-out split"}
SHOWN_PROTOCOLS = tuple(PROTOCOL_TITLES)
BROWSE = "browse.html"                # in reports/, beside results.md


def stored_probabilities(calibration: pd.DataFrame | None, protocol: str) -> pd.DataFrame:
    """(protocol, model, utterance, one column per emotion) of the test probabilities the pipeline
    stores: our model's under ``protocol``, calibrated in the folds (stage calibrate)."""
    if calibration is None or calibration.empty:
        return pd.DataFrame(columns=["protocol", "model", "utterance"])
    emotions = [c.removeprefix("calibrated_") for c in calibration.columns if c.startswith("calibrated_")]
    return (calibration.rename(columns={f"calibrated_{e}": e for e in emotions})
            .assign(protocol=protocol)[["protocol", "model", "utterance", *emotions]])


def page_data(manifest: pd.DataFrame, predictions: pd.DataFrame, headline: dict, probabilities: pd.DataFrame,
              labels: dict[str, str], glosses: Mapping[str, str] | None = None, audio_root: str = "") -> dict:
    """What the page shows, as plain data. ``predictions``: results.prediction_table();
    ``probabilities``: (protocol, model, utterance) -> one column per emotion, where stored;
    ``labels``: model -> its name in the report. Optional manifest columns the corpus lacks (sex,
    text, sentence, listener scores) are shown empty."""
    emotions = list(emotion_order(manifest))

    def optional(row, column: str):
        value = getattr(row, column, None)
        return None if value is None or pd.isna(value) else value

    recordings = {}
    for row in manifest.itertuples(index=False):
        recognition, naturalness = optional(row, "recognition"), optional(row, "naturalness")
        text = optional(row, "text")
        recordings[row.utterance] = {
            "file": row.file, "speaker": row.speaker, "sex": optional(row, "sex") or "", "text": text or "",
            "sentence": optional(row, "sentence") or "", "gloss": (glosses or {}).get(text, "") if text else "",
            "emotion": row.emotion, "recognition": None if recognition is None else float(recognition),
            "naturalness": None if naturalness is None else float(naturalness)}
    stored = {key: part for key, part in probabilities.groupby(["protocol", "model"])} if len(probabilities) else {}
    sets = []
    for (protocol, model), part in predictions.groupby(["protocol", "model"], sort=False):
        if protocol not in SHOWN_PROTOCOLS or not part["utterance"].isin(list(recordings)).all():
            continue
        scores = headline.get(protocol, {}).get(model, {})
        known = stored.get((protocol, model))
        table = (known.set_index("utterance")[emotions] if known is not None else None)
        rows = []
        for utterance, predicted in zip(part["utterance"], part["predicted"]):
            p = (np.round(table.loc[utterance].to_numpy(dtype=float), 4).tolist()
                 if table is not None and utterance in table.index else None)
            rows.append([utterance, emotions.index(predicted), p])
        sets.append({"id": f"{protocol}|{model}", "protocol": protocol, "model": model,
                     "label": labels.get(model, model), "protocol_title": PROTOCOL_TITLES[protocol],
                     "uar": scores.get("uar"), "uar_low": scores.get("uar_low"), "uar_high": scores.get("uar_high"),
                     "n": len(rows), "rows": rows})
    order = {p: i for i, p in enumerate(SHOWN_PROTOCOLS)}
    sets.sort(key=lambda s: (order[s["protocol"]], s["model"] != "ours", s["label"]))
    return {"emotions": emotions, "audio_root": audio_root, "recordings": recordings, "sets": sets}


def build_page(data: dict, corpus: str) -> str:
    """The page: data embedded as JSON (``</`` escaped), the script and styles inline; ``corpus``: its
    display name."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    audio = html.escape(data["audio_root"].removeprefix("../"))
    return (PAGE.replace("__AUDIO__", audio).replace("__DATA__", payload)
            .replace("__TITLE__", html.escape(f"{corpus} results: listen to the errors")))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
 body { font: 14px/1.45 system-ui, sans-serif; margin: 1.2em 2em; color: #1b1b1b; max-width: 1400px; }
 h1 { font-size: 1.4em; margin: 0 0 .3em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
 .controls { display: flex; flex-wrap: wrap; gap: .6em 1.5em; align-items: end; margin: .6em 0 1em; }
 .controls label { display: flex; flex-direction: column; font-weight: 600; gap: .2em; }
 select { font: inherit; padding: .2em; }
 .layout { display: flex; flex-wrap: wrap; gap: 1em 3em; align-items: flex-start; }
 .list td:nth-child(4) { min-width: 16em; }
 table { border-collapse: collapse; }
 #matrix th, #matrix td { border: 1px solid #c9ced6; padding: 0; text-align: center; }
 #matrix th { background: #f3f4f6; padding: .25em .45em; font-weight: 600; }
 #matrix th.corner { font-weight: 400; font-size: .85em; }
 #matrix button { width: 4.6em; height: 3.1em; border: 0; font: inherit; cursor: pointer; line-height: 1.15; }
 #matrix button:focus-visible { outline: 3px solid #f59e0b; outline-offset: -3px; }
 #matrix button[aria-pressed="true"] { outline: 3px solid #111; outline-offset: -3px; }
 #matrix button .pct { font-size: .78em; display: block; }
 .score { margin: .4em 0; font-weight: 600; }
 .list table, .speakers table { font-size: .92em; }
 .list th, .list td, .speakers th, .speakers td { border-bottom: 1px solid #e5e7eb; padding: .3em .5em;
   text-align: left; vertical-align: top; }
 .list audio { height: 2.1em; width: 14em; }
 .list td:nth-child(2) { min-width: 14.5em; }
 .probs { font-family: ui-monospace, monospace; font-size: .82em; display: inline-block; max-width: 17em; }
 .wrong { color: #b91c1c; font-weight: 600; } .right { color: #15803d; font-weight: 600; }
 .muted { color: #6b7280; } .bar { display: inline-block; height: .7em; background: #60a5fa; vertical-align: middle; }
 .note { background: #fef3c7; padding: .4em .7em; border-radius: 4px; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<p class="muted">Generated by the pipeline (stage <code>report</code>) from the committed predictions. Pick a
model and a protocol, then a cell of its confusion matrix to hear the recordings in it. Audio plays from
<code>__AUDIO__</code> beside this page's folder. The leaky protocol is not shown (its test sets hold
augmented copies).</p>
<div class="controls">
 <label for="model">Model<select id="model"></select></label>
 <label for="protocol">Protocol<select id="protocol"></select></label>
 <label for="compare">Compare with<select id="compare"><option value="">(none)</option></select></label>
 <label for="filter">Show<select id="filter">
   <option value="cell">the selected cell</option>
   <option value="sure-wrong">listeners ≥ 90 % sure, model wrong</option>
   <option value="disagree">where the two models disagree</option>
 </select></label>
</div>
<p class="score" id="score" aria-live="polite"></p>
<div class="layout">
 <section aria-labelledby="matrix-title">
  <h2 id="matrix-title">Confusion matrix</h2>
  <table id="matrix"><caption class="muted">rows: actual emotion; columns: predicted; count and share of the row
   </caption></table>
 </section>
 <section class="speakers" aria-labelledby="speakers-title">
  <h2 id="speakers-title">UAR per speaker</h2>
  <table id="speakers"></table>
 </section>
</div>
<section class="list" aria-labelledby="list-title">
 <h2 id="list-title">Recordings</h2>
 <p id="summary" aria-live="polite" class="muted">Click a cell of the matrix.</p>
 <table id="rows"></table>
</section>
<script id="data" type="application/json">__DATA__</script>
<script>
"use strict";
const DATA = JSON.parse(document.getElementById("data").textContent);
const E = DATA.emotions, R = DATA.recordings;
const byId = Object.fromEntries(DATA.sets.map(s => [s.id, s]));
const $ = id => document.getElementById(id);
const state = {cell: null};
const fmt = (x, d = 3) => x === null || x === undefined ? "—" : x.toFixed(d);

function option(select, value, text) {
  const o = document.createElement("option"); o.value = value; o.textContent = text; select.append(o);
}
function models() { return [...new Map(DATA.sets.map(s => [s.model, s.label])).entries()]; }
function current() { return byId[$("protocol").value + "|" + $("model").value]; }
function other() { return $("compare").value ? byId[$("protocol").value + "|" + $("compare").value] : null; }

function fillProtocols() {
  const keep = $("protocol").value, select = $("protocol");
  select.replaceChildren();
  for (const s of DATA.sets) if (s.model === $("model").value) option(select, s.protocol, s.protocol_title);
  if ([...select.options].some(o => o.value === keep)) select.value = keep;
}
function fillCompare() {
  const keep = $("compare").value, select = $("compare");
  select.replaceChildren(); option(select, "", "(none)");
  for (const s of DATA.sets) if (s.protocol === $("protocol").value && s.model !== $("model").value)
    option(select, s.model, s.label);
  if ([...select.options].some(o => o.value === keep)) select.value = keep;
}

function counts(set) {
  const m = E.map(() => E.map(() => 0));
  for (const [u, p] of set.rows) m[E.indexOf(R[u].emotion)][p] += 1;
  return m;
}

function drawMatrix() {
  const set = current(), m = counts(set), table = $("matrix");
  table.querySelectorAll("thead, tbody").forEach(x => x.remove());
  const head = table.createTHead().insertRow();
  const corner = document.createElement("th");
  corner.className = "corner"; corner.textContent = "actual \\\\ predicted";
  head.append(corner);
  for (const e of E) { const th = document.createElement("th"); th.scope = "col"; th.textContent = e; head.append(th); }
  const body = table.createTBody();
  m.forEach((row, i) => {
    const tr = body.insertRow(), th = document.createElement("th");
    th.scope = "row"; th.textContent = E[i]; tr.append(th);
    const total = row.reduce((a, b) => a + b, 0);
    row.forEach((n, j) => {
      const share = total ? n / total : 0, td = tr.insertCell(), b = document.createElement("button");
      b.type = "button"; b.dataset.actual = i; b.dataset.predicted = j; b.dataset.count = n;
      b.setAttribute("aria-pressed", String(!!state.cell && state.cell[0] === i && state.cell[1] === j));
      b.setAttribute("aria-label",
                     `${E[i]} heard as ${E[j]}: ${n} recordings, ${Math.round(100 * share)} % of ${E[i]}`);
      b.innerHTML = `${n}<span class="pct">${Math.round(100 * share)}%</span>`;
      b.style.background = i === j ? `rgba(22,163,74,${0.12 + 0.6 * share})`
                                   : `rgba(220,38,38,${share ? 0.1 + 0.8 * share : 0})`;
      b.addEventListener("click", () => { state.cell = [i, j]; $("filter").value = "cell"; render(); });
      td.append(b);
    });
  });
  $("score").textContent = `${set.label}, ${set.protocol_title}: UAR ${fmt(set.uar)} [${fmt(set.uar_low)}, ` +
    `${fmt(set.uar_high)}], n = ${set.n}`;
}

function drawSpeakers() {
  const set = current(), table = $("speakers"), per = {};
  for (const [u, p] of set.rows) {
    const s = R[u].speaker, a = E.indexOf(R[u].emotion);
    per[s] ??= E.map(() => [0, 0]); per[s][a][1] += 1; if (p === a) per[s][a][0] += 1;
  }
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  for (const t of ["speaker", "sex", "recordings", "UAR"]) {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = t; head.append(th);
  }
  const body = table.createTBody();
  for (const s of Object.keys(per).sort()) {
    const present = per[s].filter(([, n]) => n > 0), uar = present.reduce((a, [k, n]) => a + k / n, 0) / present.length;
    const sex = Object.values(R).find(r => r.speaker === s).sex;
    const tr = body.insertRow();
    tr.insertCell().textContent = s; tr.insertCell().textContent = sex === "f" ? "female" : "male";
    tr.insertCell().textContent = per[s].reduce((a, [, n]) => a + n, 0);
    const cell = tr.insertCell();
    cell.innerHTML = `<span class="bar" style="width:${Math.round(80 * uar)}px"></span> ${fmt(uar)}`;
  }
}

function probabilities(p, mark) {
  if (!p) return '<span class="muted">not stored</span>';
  return E.map((e, i) => (i === mark ? "<b>" : "") + `${e.slice(0, 3)} ${p[i].toFixed(2)}` + (i === mark ? "</b>" : ""))
    .join(" ");
}

function drawRows() {
  const set = current(), cmp = other(), filter = $("filter").value, table = $("rows");
  const theirs = cmp ? Object.fromEntries(cmp.rows.map(r => [r[0], r])) : {};
  let rows = set.rows;
  if (filter === "cell") {
    if (!state.cell) { table.replaceChildren(); $("summary").textContent = "Click a cell of the matrix."; return; }
    rows = rows.filter(([u, p]) => E.indexOf(R[u].emotion) === state.cell[0] && p === state.cell[1]);
  } else if (filter === "sure-wrong") {
    rows = rows.filter(([u, p]) => R[u].recognition !== null && R[u].recognition >= 90
                                   && p !== E.indexOf(R[u].emotion));
  } else if (filter === "disagree") {
    rows = cmp ? rows.filter(([u, p]) => theirs[u] && theirs[u][1] !== p) : [];
  }
  let text = `${rows.length} recordings`;
  if (filter === "cell") text += `: ${E[state.cell[0]]} heard as ${E[state.cell[1]]} by ${set.label}`;
  if (filter === "sure-wrong") text += ` listeners recognised at ≥ 90 % that ${set.label} gets wrong`;
  if (filter === "disagree") {
    if (!cmp) text = "Pick a model to compare with.";
    else {
      const mine = rows.filter(([u, p]) => p === E.indexOf(R[u].emotion));
      const their = rows.filter(([u]) => theirs[u][1] === E.indexOf(R[u].emotion));
      const heard = list => list.length ? (list.reduce((s, [u]) => s + (R[u].recognition ?? 0), 0) / list.length)
        .toFixed(0) + " %" : "—";
      text += ` where ${set.label} and ${cmp.label} disagree: ${set.label} right on ${mine.length} (listeners ` +
        `recognised those at ${heard(mine)} on average), ${cmp.label} right on ${their.length} (${heard(their)}), ` +
        `neither on ${rows.length - mine.length - their.length}.`;
    }
  }
  $("summary").textContent = text;
  table.replaceChildren();
  const head = table.createTHead().insertRow();
  const titles = ["recording", "listen", "speaker", "sentence", "emotion", "listeners: recognised / natural",
                  set.label].concat(cmp ? [cmp.label] : []);
  for (const t of titles) {
    const th = document.createElement("th"); th.scope = "col"; th.textContent = t; head.append(th);
  }
  const body = table.createTBody();
  for (const [u, p, probs] of rows) {
    const r = R[u], tr = body.insertRow(), truth = E.indexOf(r.emotion);
    tr.dataset.utterance = u;
    tr.insertCell().textContent = u;
    const audio = document.createElement("audio");
    audio.controls = true; audio.preload = "metadata"; audio.src = DATA.audio_root + r.file;
    audio.setAttribute("aria-label", `recording ${u}`);
    tr.insertCell().append(audio);
    tr.insertCell().textContent = `${r.speaker} (${r.sex === "f" ? "female" : "male"})`;
    tr.insertCell().innerHTML = `${r.sentence}<br><span class="muted">${r.gloss}</span>`;
    tr.insertCell().textContent = r.emotion;
    tr.insertCell().textContent = `${fmt(r.recognition, 0)} % / ${fmt(r.naturalness, 0)} %`;
    const mine = tr.insertCell();
    mine.innerHTML = `<span class="${p === truth ? "right" : "wrong"}">${E[p]}</span><br>` +
      `<span class="probs">${probabilities(probs, p)}</span>`;
    if (cmp) {
      const t = theirs[u], c = tr.insertCell();
      c.innerHTML = t ? `<span class="${t[1] === truth ? "right" : "wrong"}">${E[t[1]]}</span><br>` +
        `<span class="probs">${probabilities(t[2], t[1])}</span>` : '<span class="muted">not tested</span>';
    }
  }
}

function render() { drawMatrix(); drawSpeakers(); drawRows(); }

for (const [m, label] of models()) option($("model"), m, label);
$("model").value = DATA.sets.some(s => s.model === "ours") ? "ours" : DATA.sets[0].model;
fillProtocols(); fillCompare();
$("model").addEventListener("change", () => { fillProtocols(); fillCompare(); render(); });
$("protocol").addEventListener("change", () => { fillCompare(); render(); });
$("compare").addEventListener("change", render);
$("filter").addEventListener("change", render);
render();
</script>
</body>
</html>
"""
