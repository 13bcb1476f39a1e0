#!/usr/bin/env python3
"""Path-star learning curves: exact-path accuracy on held-out graphs against training graphs seen,
one panel per D, one line per model and collapse policy, from the curve.csv files that
build/experiments/path_star writes (one folder per run: <model>-d<D>/curve.csv).

    experiments/path_star_plot.py docs/path-star          # writes docs/path-star/curves.png and a table
"""
import csv
import pathlib
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def read_runs(folder):
    runs = {}  # D -> policy -> [(graphs, exact, first, loss, seconds)]
    for path in sorted(pathlib.Path(folder).glob("*-d*/curve.csv")):
        d = int(path.parent.name.rsplit("-d", 1)[1])
        with open(path, newline="") as f:
            for row in csv.DictReader(f):
                runs.setdefault(d, {}).setdefault(row["policy"], []).append(
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
        for policy, points in runs[d].items():
            xs = [p[0] for p in points]
            ax.plot(xs, [p[1] for p in points], marker="o", ms=3, label=policy, ls="--" if policy.startswith("GPT") else "-")
            g, exact, first, loss, seconds = points[-1]
            lines.append(f"| {d} | {policy} | {g} | {exact:.3f} | {first:.3f} | {loss:.3f} | {seconds / 60:.0f} min |")
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
