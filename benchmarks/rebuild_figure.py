"""The per-stage figure of the README main command from an empty cache: metrics/bench.json's section
``rebuild`` (written by ``bench.py --only-repro --write``) -> docs/figures/rebuild-stages.png.

One horizontal bar per stage family (a matrix's items stacked, each labelled where it is wide enough),
longest first, coloured by what the time goes on; the title names the CPU, the commit and the total.
``--before SECTION`` (another rebuild section of bench.json, timed on the same machine) draws each family's
total there as a grey bar under its own, for a before/after figure.

    python benchmarks/rebuild_figure.py [--bench metrics/bench.json] [--out docs/figures/rebuild-stages.png]
    python benchmarks/rebuild_figure.py --before rebuild_base --out docs/figures/rebuild-before-after.png
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# What each stage's time goes on (a stage not named here: "bookkeeping")
KINDS = {"networks": ("study-train", "cv", "train", "evaluate", "study-evaluate", "augment", "features", "split"),
         "our model's fits": ("ours", "crosscorpus", "fit", "loco", "calibrate", "package"),
         "features of every corpus": ("extract",),
         "SVM baselines": ("baselines",)}
COLOURS = {"networks": "#4c72b0", "our model's fits": "#dd8452", "features of every corpus": "#55a868",
           "SVM baselines": "#8172b3", "bookkeeping": "#a0a0a0"}


def kind(family: str) -> str:
    return next((k for k, families in KINDS.items() if family in families), "bookkeeping")


def families(stage_s: dict[str, float]) -> dict[str, dict[str, float]]:
    """{family: {item: seconds}}: ``extract@emodb-whisper`` is item ``emodb-whisper`` of ``extract``."""
    out: dict[str, dict[str, float]] = {}
    for stage, seconds in stage_s.items():
        family, _, item = stage.partition("@")
        out.setdefault(family, {})[item or family] = seconds
    return out


def draw(rebuild: dict, machine: dict, out: Path, before: dict | None = None) -> Path:
    earlier = {f: sum(i.values()) for f, i in families(before["stage_s"]).items()} if before else {}
    grouped = sorted({**{f: {} for f in earlier}, **families(rebuild["stage_s"])}.items(),
                     key=lambda kv: max(sum(kv[1].values()), earlier.get(kv[0], 0)))
    longest = max(max(sum(i.values()) for _, i in grouped), max(earlier.values(), default=0)) * 1.12
    fig, ax = plt.subplots(figsize=(10, (0.52 if before else 0.36) * len(grouped) + 1.6))
    pixels_per_s = 0.85 * 10 * 110 / longest       # the axes span ~85 % of the figure's 1,100 pixels
    height = 0.45 if before else 0.8
    for row, (family, items) in enumerate(grouped):
        left = 0.0
        y = row + (0.2 if before else 0.0)
        for item, seconds in sorted(items.items(), key=lambda kv: -kv[1]):
            ax.barh(y, seconds, height=height, left=left, color=COLOURS[kind(family)], edgecolor="white", linewidth=0.8)
            if len(items) > 1 and seconds * pixels_per_s >= 5.2 * len(item) + 6:     # the label fits (7 pt)
                ax.text(left + seconds / 2, y, item, ha="center", va="center", fontsize=7, color="white")
            left += seconds
        ax.text(left + 5, y, f"{left:.0f} s" if items else "not run (its outputs matched dvc.lock)", va="center",
                fontsize=8)
        if before and family in earlier:
            ax.barh(row - 0.22, earlier[family], height=0.3, color="#c8c8c8")
            ax.text(earlier[family] + 5, row - 0.22, f"{earlier[family]:.0f} s before", va="center", fontsize=7,
                    color="#606060")
    ax.set_yticks(range(len(grouped)), [f"{f} ×{len(i)}" if len(i) > 1 else f for f, i in grouped], fontsize=8)
    ax.set_xlabel("wall seconds (a matrix's items stacked)")
    ax.set_xlim(0, longest)
    ax.set_ylim(-0.7, len(grouped) - 0.3)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in COLOURS.values()]
    labels = list(COLOURS)
    if before:
        handles.append(plt.Rectangle((0, 0), 1, 1, color="#c8c8c8"))
        labels.append(f"before: commit {before.get('commit', '?')}, {before['total_s']:.0f} s")
    ax.legend(handles, labels, loc="lower right", fontsize=8, frameon=False)
    then = f" (before: {before['total_s']:.0f} s, commit {before.get('commit', '?')})" if before else ""
    ax.set_title(f"README main command from an empty cache: {rebuild['total_s']:.0f} s in {len(rebuild['stage_s'])} "
                 f"stages{then}\n{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores; commit "
                 f"{rebuild.get('commit', '?')}; no-op dvc repro afterwards {rebuild.get('noop_s', '?')} s",
                 fontsize=9)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110, metadata={"Software": None})
    plt.close(fig)
    return out


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", type=Path, default=Path("metrics/bench.json"))
    parser.add_argument("--out", type=Path, default=Path("docs/figures/rebuild-stages.png"))
    parser.add_argument("--before", metavar="SECTION", help="a rebuild section to draw under each family (grey)")
    args = parser.parse_args(argv)
    bench = json.loads(args.bench.read_text())
    for section in ("rebuild", *([args.before] if args.before else [])):
        if "stage_s" not in bench.get(section, {}):
            raise SystemExit(f"rebuild_figure: {args.bench} has no section {section} with stage_s; run bench.py "
                             "--only-repro --write")
    machine = bench["rebuild"].get("machine") or bench.get("machine", {})
    path = draw(bench["rebuild"], machine, args.out, bench[args.before] if args.before else None)
    print(f"wrote {path}")
    return path


if __name__ == "__main__":
    main()
