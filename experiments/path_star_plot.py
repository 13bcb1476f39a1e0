#!/usr/bin/env python3
"""Path-star learning curves: exact-path accuracy on held-out graphs against training graphs seen,
one panel per D, one line per run (its best collapse policy at the end; the table lists them all),
from the curve.csv files that build/experiments/path_star writes (one folder per run:
<model>-d<D>[-variant]/curve.csv).

    experiments/path_star_plot.py docs/path-star          # writes docs/path-star/curves.png and a table
"""
import csv
import pathlib
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_runs(folder):
    runs = {}  # D -> (run, policy) -> [(graphs, exact, first, loss, seconds)]
    for path in sorted(pathlib.Path(folder).glob("*-d*/curve.csv")):
        found = re.search(r"-d(\d+)", path.parent.name)
        if not found:
            continue
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                runs.setdefault(int(found.group(1)), {}).setdefault((path.parent.name, row["policy"]), []).append(
                    (int(row["graphs"]), float(row["exact"]), float(row["first_node"]), float(row["train_loss"]),
                     float(row["seconds"])))
    return runs


def main():
    folder = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "docs/path-star")
    runs = read_runs(folder)
    if not runs:
        sys.exit(f"error: no */curve.csv under {folder}")
    fig, axes = plt.subplots(1, len(runs), figsize=(6.5 * len(runs), 4.5), squeeze=False)
    lines = ["| D | model, policy | graphs seen | exact paths | first node | train loss | wall time |", "|---|---|---|---|---|---|---|"]
    for ax, d in zip(axes[0], sorted(runs)):
        best = {}  # run -> its policy with the highest last exact-path accuracy (then first node)
        for (run, policy), points in runs[d].items():
            g, exact, first, loss, seconds = points[-1]
            lines.append(f"| {d} | {run}: {policy} | {g} | {exact:.3f} | {first:.3f} | {loss:.3f} | {seconds / 60:.0f} min |")
            if run not in best or (exact, first) > (runs[d][(run, best[run])][-1][1], runs[d][(run, best[run])][-1][2]):
                best[run] = policy
        for run, policy in best.items():
            points = runs[d][(run, policy)]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", ms=3, label=f"{run}: {policy}",
                    ls="--" if policy.startswith("GPT") else "-")
        ax.axhline(1 / d, color="black", lw=1, ls=":", label="1/D (guessing the arm)")
        ax.set_xscale("log")
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel("training graphs seen")
        ax.set_ylabel("exact-path accuracy (held-out graphs)")
        ax.set_title(f"path-star, D = {d}")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(folder / "curves.png", dpi=110)
    print("\n".join(lines))
    print(f"\nwrote {folder / 'curves.png'}")


if __name__ == "__main__":
    main()
