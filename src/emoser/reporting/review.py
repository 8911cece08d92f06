"""``emoser review BASE [HEAD]``: one Markdown report for a pull request — is each change in the
headline metrics a change or noise?

    emoser review main                 # main -> the workspace (run `dvc repro` first)
    emoser review main my-branch --out review/

For every protocol x model on both sides: UAR and accuracy base -> head, the interval of the
difference at the level that model's noise lives at, and a verdict (``emoser.evaluation.comparison``):
deterministic models (SVMs, ours) by an exact paired sign-flip permutation test of UAR over the same test
recordings (a paired bootstrap interval and the exact McNemar test beside it); trained networks as
procedures, by their replicates: hold-out networks by their seeds (training runs + what the recordings add
beyond the seeds' disagreement), cross-validated ones by their folds, paired by fold. Verdicts come
from Holm-adjusted p-values over the changed rows, each distinct model once (a byte copy shipped under
another name takes its original's verdict), so a reseed or a rebuild on another CPU comes out clean in at
least 95 % of reviews as a whole. Rows whose test recordings differ are "not
comparable"; a network with one training run on a side is not judged. Then ``dvc params diff``,
the stages whose dvc.lock entry changed, and the confusion matrices before / after side by side.

Each side's files come from the workspace, or for a revision from git (metrics and the hold-out
networks' predictions are in git) or, for DVC-tracked predictions (data/study/NAME/cv/*.csv,
data/cv/corpora.csv), the DVC cache or remote through ``dvc.api``; the report says which. Where neither
has a side's predictions, its rows compare the two intervals instead, and say so.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from emoser.core import paths
from emoser.core.config import Section, load_params
from emoser.core.errors import EmoserError
from emoser.core.files import atomic_path
from emoser.core.runtime import entry_point
from emoser.evaluation.comparison import (
    BETTER,
    FOLDS,
    NOISE,
    NOT_COMPARABLE,
    ONE_RUN,
    SEEDS,
    WORSE,
    compare_models,
    holm,
    verdicts,
)
from emoser.params.evaluate import EvaluateParams
from emoser.reporting.figures import confusion_grid, confusion_panel, save_figure
from emoser.reporting.results import NETWORKS, SCORES, headline_metrics, prediction_table, replicate_table, workspace

log = logging.getLogger(__name__)
WORKSPACE = "workspace"
INTERVALS_ONLY = " (intervals only)"
MAX_FIGURES = 12
SHIPPED = NETWORKS[0]           # the served network: a copy of one study variant


class Params(Section):
    evaluate: EvaluateParams


class ReviewError(EmoserError):
    """A revision that git does not know, or a folder that is not a DVC repository."""


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True)


class Side:
    """The files of one side of a review: the workspace, or a git revision (git first, then the
    DVC cache or remote). ``sources`` records where each file read came from."""

    def __init__(self, rev: str | None):
        self.rev = rev
        self.sources: dict[str, str] = {}
        self._lock: dict | None = None
        if rev is not None:
            found = _git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
            if found.returncode != 0:
                raise ReviewError(f"unknown git revision {rev!r}")
            self.commit = found.stdout.decode().strip()

    @property
    def label(self) -> str:
        return WORKSPACE if self.rev is None else f"{self.rev} ({self.commit[:7]})"

    def __call__(self, path: Path) -> str | None:
        text, source = self._read(path)
        self.sources[path.as_posix()] = source
        return text

    def _read(self, path: Path) -> tuple[str | None, str]:
        if self.rev is None:
            text = workspace(path)
            return text, WORKSPACE if text is not None else "missing"
        shown = _git("show", f"{self.commit}:{path.as_posix()}")
        if shown.returncode == 0:
            return shown.stdout.decode(), "git"
        md5 = self.out_md5(path)
        if md5 is None:
            return None, "missing"
        try:
            import dvc.api
            from dvc.repo import Repo

            with Repo(".") as repo:   # DVC's own cache (wherever cache.dir puts it), not a guess at its layout
                where = "DVC cache" if repo.cache.local.exists(md5) else "DVC remote"
            return dvc.api.read(path.as_posix(), repo=".", rev=self.commit), where
        except Exception as exc:  # not in the cache, no remote, remote unreachable: fall back, say why
            log.info("%s: %s at %s unreachable: %s", self.label, path, self.rev, exc)
            return None, "not in the DVC cache or remote"

    def lock(self) -> dict:
        """dvc.lock's stages (from the workspace or git: the lock is never a DVC output)."""
        if self._lock is None:
            if self.rev is None:
                text = workspace(Path("dvc.lock"))
            else:
                shown = _git("show", f"{self.commit}:dvc.lock")
                text = shown.stdout.decode() if shown.returncode == 0 else None
            self._lock = (yaml.safe_load(text) or {}).get("stages", {}) if text else {}
        return self._lock

    def out_md5(self, path: Path) -> str | None:
        for stage in self.lock().values():
            for out in stage.get("outs", []):
                if out.get("path") == path.as_posix():
                    return out.get("md5")
        return None


def changed_stages(base: dict, head: dict) -> list[str]:
    """Stages whose dvc.lock entry (command, deps, params, outs and their hashes) differs, in
    pipeline order; added and removed stages included."""
    names = list(dict.fromkeys([*head, *base]))
    return [name for name in names if base.get(name) != head.get(name)]


def params_diff(base: Side, head: Side) -> str:
    revs = [base.commit] + ([] if head.rev is None else [head.commit])
    done = subprocess.run([sys.executable, "-m", "dvc", "params", "diff", *revs, "--md"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return f"`dvc params diff` failed: {done.stderr.strip().splitlines()[-1:] or ['?']}"
    table = done.stdout.strip()
    return table if len(table.splitlines()) > 2 else "No parameter changed."


def stale_stages() -> list[str]:
    """Stages `dvc status` finds out of date in the workspace (its figures are then not what the
    code and params make)."""
    done = subprocess.run([sys.executable, "-m", "dvc", "status", "--json"], capture_output=True, text=True)
    try:   # a stage DVC runs every time (sources) is "always changed", not stale
        return [name for name, why in json.loads(done.stdout or "{}").items()
                if not name.endswith(".dvc") and why != ["always changed"]]
    except json.JSONDecodeError:
        return []


def _interval_verdict(b: dict, h: dict) -> str:
    if b["n"] != h["n"]:
        return NOT_COMPARABLE
    if h["uar_low"] > b["uar_high"]:
        return BETTER + INTERVALS_ONLY
    if h["uar_high"] < b["uar_low"]:
        return WORSE + INTERVALS_ONLY
    return NOISE + INTERVALS_ONLY


def _pick(table: pd.DataFrame, protocol: str, model: str) -> pd.DataFrame:
    return table[(table["protocol"] == protocol) & (table["model"] == model)]


def _level(result: dict) -> str:
    level = result.get("level_of", "")
    if level == SEEDS:
        return f"{SEEDS} ({result['runs'][0]} / {result['runs'][1]} runs)"
    if level == FOLDS:
        return f"{FOLDS} ({result['folds']}, per-fold UAR)"
    return level


def compare(base: Side, head: Side, settings: EvaluateParams) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """One row per protocol x model on both sides: figures, the test that fits the model, changed or
    not, and the verdict from Holm-adjusted p-values over the changed rows. Also returns both sides'
    prediction tables."""
    base_metrics, head_metrics = headline_metrics(base, corpora=True), headline_metrics(head, corpora=True)
    base_pred, head_pred = prediction_table(base, corpora=True), prediction_table(head, corpora=True)
    base_runs, head_runs = replicate_table(base), replicate_table(head)
    rows: list[dict] = []
    seen: dict[tuple[str, str], list[str]] = {}
    for protocol, models in head_metrics.items():
        for model, h in models.items():
            b = base_metrics.get(protocol, {}).get(model)
            if b is None:
                continue
            row = {"protocol": protocol, "model": model, **{f"base_{k}": b[k] for k in SCORES},
                   **{f"head_{k}": h[k] for k in SCORES}, "changed": any(b[k] != h[k] for k in SCORES),
                   "p": np.nan, "level": ""}
            pick_b, pick_h = _pick(base_pred, protocol, model), _pick(head_pred, protocol, model)
            if len(pick_b) and len(pick_h):
                runs_b, runs_h = _pick(base_runs, protocol, model), _pick(head_runs, protocol, model)
                seen.setdefault((protocol, _fingerprint(pick_b, pick_h, runs_b, runs_h)), []).append(model)
                result = compare_models(pick_b, pick_h, runs_b, runs_h, settings.bootstrap_resamples,
                                        settings.seed, settings.ci_level)
                row["verdict"] = result["verdict"]
                row["reason"] = result.get("reason", "")
                row["changed"] = row["changed"] or result["verdict"] == NOT_COMPARABLE
                if "uar" in result:
                    row.update({"uar_diff": result["uar"]["difference"], "uar_diff_low": result["uar"]["low"],
                                "uar_diff_high": result["uar"]["high"], "uar_base": result["uar"]["base"],
                                "uar_head": result["uar"]["head"],
                                "accuracy_diff": result["accuracy"]["difference"],
                                "mcnemar_p": result["mcnemar"]["p"],
                                "only_base": result["mcnemar"]["only_base_right"],
                                "only_head": result["mcnemar"]["only_head_right"], "p": result["p"],
                                "level": _level(result)})
                    row["changed"] = row["changed"] or bool(result["mcnemar"]["only_base_right"]
                                                            or result["mcnemar"]["only_head_right"])
                    if result.get("level_of") == SEEDS:   # another seed's predictions moved, the named one's not
                        row["changed"] = row["changed"] or not runs_b.reset_index(drop=True).equals(
                            runs_h.reset_index(drop=True))
            else:
                row["verdict"], row["reason"] = _interval_verdict(b, h), "predictions unreachable"
            if not row["changed"]:
                row["verdict"] = "unchanged"
            rows.append(row)
    originals = {}      # (protocol, model) -> the model judged for it; the shipped copy defers to its variant
    for (protocol, _), names in seen.items():
        original = next((n for n in names if n != SHIPPED), names[0])
        originals.update({(protocol, n): original for n in names})
    for row in rows:
        row["same_as"] = originals.get((row["protocol"], row["model"]), row["model"])
    table = pd.DataFrame(rows)
    if len(table):
        copy = table["same_as"] != table["model"]
        judged = table["changed"] & table["p"].notna() & ~copy
        table["p_holm"] = np.nan
        if judged.any():
            table.loc[judged, "p_holm"] = holm(table.loc[judged, "p"])
            table.loc[judged, "verdict"] = verdicts(table.loc[judged, "uar_diff"], table.loc[judged, "p"],
                                                    1 - settings.ci_level)
        for i in np.flatnonzero(copy & table["changed"]):      # one model judged once, its copies told so
            original = table[(table["protocol"] == table.at[i, "protocol"])
                             & (table["model"] == table.at[i, "same_as"])].index[0]
            table.loc[i, ["verdict", "p_holm"]] = table.loc[original, ["verdict", "p_holm"]].to_numpy()
            table.at[i, "reason"] = f"the same predictions as {table.at[i, 'same_as']}: judged once, there"
    return table, base_pred, head_pred


def _fingerprint(*tables: pd.DataFrame) -> str:
    """One hash of a row's prediction tables (both sides, replicates included): rows with the same one are
    one model shipped under two names (the shipped ``model`` is a byte copy of a study variant), judged
    once so the Holm family counts it once."""
    digest = hashlib.sha256()
    for table in tables:
        columns = [c for c in ("seed", "fold", "utterance", "emotion", "predicted") if c in table]
        digest.update(pd.util.hash_pandas_object(table[columns].sort_values(columns), index=False).to_numpy()
                      .tobytes())
        digest.update(b"|")
    return digest.hexdigest()


def _fmt(x, spec: str = ".3f") -> str:
    return "—" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, spec)


def _table_rows(table: pd.DataFrame) -> list[str]:
    lines = ["| protocol | model | UAR base → head | UAR head − base [95 % CI] | interval over | "
             "accuracy base → head | McNemar p (only base / only head right) | p (Holm) | verdict |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in table.to_dict("records"):
        paired = (f"{r['uar_diff']:+.3f} [{r['uar_diff_low']:+.3f}, {r['uar_diff_high']:+.3f}]"
                  if not pd.isna(r.get("uar_diff", np.nan)) else r.get("reason") or "—")
        if r["verdict"] == ONE_RUN or str(r.get("reason", "")).startswith("the same predictions"):
            paired += f" ({r['reason']})"
        seeds = str(r.get("level", "")).startswith(SEEDS)
        uar = (f"{r['uar_base']:.3f} → {r['uar_head']:.3f} (seeds' mean)" if seeds
               else f"{r['base_uar']:.3f} → {r['head_uar']:.3f}")
        mcnemar = (f"{_fmt(r['mcnemar_p'], '.3g')} ({int(r['only_base'])} / {int(r['only_head'])})"
                   if not pd.isna(r.get("mcnemar_p", np.nan)) else "—")
        p = (f"{_fmt(r['p'], '.3g')} ({_fmt(r['p_holm'], '.3g')})" if not pd.isna(r.get("p_holm", np.nan))
             else "—")
        verdict = r["verdict"] if r["verdict"] in (NOISE, "unchanged") else f"**{r['verdict']}**"
        lines.append(f"| {r['protocol']} | {r['model']} | {uar} | {paired} | {r.get('level') or '—'} | "
                     f"{r['base_accuracy']:.3f} → {r['head_accuracy']:.3f} (n={int(r['head_n'])}) | {mcnemar} | "
                     f"{p} | {verdict} |")
    return lines


def confusion_pair(base_pred: pd.DataFrame, head_pred: pd.DataFrame, protocol: str, model: str,
                   labels: tuple[str, str]):
    panels = []
    chosen = [t[(t["protocol"] == protocol) & (t["model"] == model)] for t in (base_pred, head_pred)]
    classes = sorted(set().union(*(set(t["emotion"]) | set(t["predicted"]) for t in chosen)))
    for table, label in zip((base_pred, head_pred), labels):
        part = table[(table["protocol"] == protocol) & (table["model"] == model)]
        accuracy = np.mean(part["emotion"].to_numpy() == part["predicted"].to_numpy())
        panels.append(confusion_panel(part, f"{model}, {protocol}: {label}\naccuracy {accuracy:.3f}, n={len(part)}",
                                      classes))
    return confusion_grid(panels, classes, columns=2)


def _summary_lines(table: pd.DataFrame, changed: pd.DataFrame, stale: list[str]) -> list[str]:
    """The review's head: a warning if the workspace is stale, the count of changed rows by verdict, and
    the tables of changed and unchanged rows."""
    lines = []
    if stale:
        lines += [f"> **Warning:** the workspace is not reproduced: `dvc status` finds {len(stale)} stage(s) out of "
                  f"date ({', '.join(stale)}); run `dvc repro` and review again.", ""]
    if table.empty:
        lines += ["No model is scored on both sides: nothing to compare.", ""]
    elif changed.empty:
        lines += [f"**No metric changed** ({len(table)} protocol × model rows compared: every figure and every "
                  "test prediction is the same).", ""]
    else:
        counts = changed["verdict"].str.replace(INTERVALS_ONLY, "", regex=False).value_counts()
        summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in (BETTER, WORSE, NOISE, NOT_COMPARABLE))
        if counts.get(ONE_RUN):
            summary += f", {counts[ONE_RUN]} {ONE_RUN}"
        lines += [f"**{len(changed)} of {len(table)} protocol × model rows changed: {summary}.**", "",
                  "## Changed figures", "", *_table_rows(changed), ""]
    unchanged = table[~table["changed"]] if len(table) else table
    if len(unchanged) and len(changed):
        lines += [f"<details><summary>{len(unchanged)} unchanged rows</summary>", "", *_table_rows(unchanged), "",
                  "</details>", ""]
    return lines


def _how_to_read(settings: EvaluateParams) -> str:
    """What each column, interval and verdict of the review means."""
    level = f"{100 * settings.ci_level:.0f} %"
    return ("How to read it: both sides' predictions of the **same test recordings** are paired, and each row's "
            f"{level} interval of UAR(head) − UAR(base) counts the noise its model has ('interval over'). "
            f"*recordings*: a deterministic model (SVMs, ours); a paired percentile bootstrap interval over "
            f"recordings ({settings.bootstrap_resamples} resamples), p from the exact paired sign-flip "
            "permutation test of UAR (every recording's two predictions exchangeable under no change). "
            "*seeds + recordings*: a hold-out network judged as a "
            "training procedure by its replicates (train.replicates seeds per side): the difference of the seeds' "
            "mean UAR, its variance the spread over seeds (Student's t, 2S − 2 df) plus what a paired bootstrap "
            "over recordings adds beyond the seeds' disagreement on each recording (normal; counted once), "
            "their half-widths added in quadrature. "
            "*folds*: a cross-validated network, every fold its own training run on both sides: a paired t over "
            "the per-fold UAR differences (the 'UAR base → head' column stays the pooled figure). McNemar's "
            "exact test counts the recordings exactly one side got right (the named seed's, for a network). "
            "Verdict: better / worse when the **Holm-adjusted** p over the changed rows is below "
            f"{1 - settings.ci_level:.2g} (family-wise: a reseed or a rebuild on another CPU is called clean in "
            f"at least {level} of reviews; each distinct model once: a row with the same predictions as another "
            "takes its verdict), else within noise; 'not comparable' when the sides score different "
            f"recordings; '{ONE_RUN}' for a network with one training run on a side (train.replicates: 1, or "
            "a revision before replicates); '(intervals only)' when a side's predictions were unreachable and "
            "only the two sides' own intervals could be compared (non-overlap = change).")


def _confusion_figures(changed: pd.DataFrame, base_pred: pd.DataFrame, head_pred: pd.DataFrame, out_dir: Path
                       ) -> list[str]:
    """Base / head confusion matrices of the changed rows both sides have predictions of (at most
    MAX_FIGURES), saved in ``out_dir``; their Markdown image lines."""
    figure_rows = changed[changed["verdict"] != NOT_COMPARABLE].head(MAX_FIGURES) if len(changed) else changed
    pictured = []
    for r in figure_rows.to_dict("records"):
        if not (((base_pred["protocol"] == r["protocol"]) & (base_pred["model"] == r["model"])).any()
                and ((head_pred["protocol"] == r["protocol"]) & (head_pred["model"] == r["model"])).any()):
            continue
        name = f"confusion-{r['protocol']}-{r['model']}.png".replace("/", "-").replace("+", "-")
        save_figure(confusion_pair(base_pred, head_pred, r["protocol"], r["model"], ("base", "head")), out_dir / name)
        pictured.append(f"![{r['model']}, {r['protocol']}: base / head]({name})")
    return pictured


def write_review(base: Side, head: Side, settings: EvaluateParams, out_dir: Path) -> tuple[str, pd.DataFrame]:
    """The report (Markdown) and its figures in ``out_dir``; returns the text and the rows."""
    table, base_pred, head_pred = compare(base, head, settings)
    changed = table[table["changed"]] if len(table) else table
    lines = [f"# Review: {base.label} → {head.label}", ""]
    lines += _summary_lines(table, changed, stale_stages() if head.rev is None else [])
    lines += [_how_to_read(settings), ""]
    lines += ["## Parameters (`dvc params diff`)", "", params_diff(base, head), ""]
    stages = changed_stages(base.lock(), head.lock())
    lines += ["## Stages whose dvc.lock entry changed", "",
              (", ".join(f"`{s}`" for s in stages) if stages else "None."), ""]
    pictured = _confusion_figures(changed, base_pred, head_pred, out_dir)
    if pictured:
        lines += ["## Confusion matrices, base (left) / head (right)", "", *pictured, ""]
    lines += ["## Where each side's files came from", "", "| file | base | head |", "|---|---|---|"]
    for path in dict.fromkeys([*base.sources, *head.sources]):
        lines.append(f"| {path} | {base.sources.get(path, '—')} | {head.sources.get(path, '—')} |")
    text = "\n".join(lines) + "\n"
    with atomic_path(out_dir / "review.md") as tmp:
        tmp.write_text(text)
    return text, table


@entry_point
def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="emoser review", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("base", help="git revision to compare against (e.g. main)")
    parser.add_argument("head", nargs="?", help="git revision under review (default: the workspace)")
    parser.add_argument("--out", type=Path, default=Path("review"), help="folder for review.md and its figures")
    args = parser.parse_args(argv)
    if not Path("dvc.yaml").exists() or not paths.METRICS.is_dir():
        raise ReviewError("run it in the repository root (no dvc.yaml or metrics/ here)")
    settings = load_params(Params).evaluate
    base, head = Side(args.base), Side(args.head)
    text, table = write_review(base, head, settings, args.out)
    print(text)
    log.info("wrote %s", args.out / "review.md")


if __name__ == "__main__":
    main()
