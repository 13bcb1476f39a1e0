#!/usr/bin/env python3
"""Turn a WFC-vs-GPT validation study's results JSON into results.md plus plots.

Usage: report_study.py RESULTS_JSON OUT_DIR
"""
import json
import math
import os
import sys
import textwrap

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DASH = "—"
DPI = 120
COLORS = plt.rcParams["axes.prop_cycle"].by_key()["color"]


# ---------- small helpers ----------

def num(x):
    """Finite float, or None for null / NaN / inf / non-numbers."""
    if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x):
        return float(x)
    return None


def fmt(x, spec=".3f", scale=1.0):
    v = num(x)
    return DASH if v is None else format(v * scale, spec)


def text(x):
    return DASH if x is None or x == "" else str(x).replace("|", "\\|")


def table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines + [""]


def wall_time(seconds):
    s = num(seconds)
    if s is None:
        return DASH
    s = int(round(s))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


def wrap(label, width=16):
    return textwrap.fill(str(label), width)


def save(fig, out_dir, name):
    fig.tight_layout()
    fig.savefig(os.path.join(out_dir, name), dpi=DPI)
    plt.close(fig)
    return [f"![{name[:-4]}]({name})", ""]


def drop_stale(out_dir, name):
    """Remove a plot left by an earlier run when it is skipped this time."""
    path = os.path.join(out_dir, name)
    if os.path.exists(path):
        os.remove(path)


def gpt_val_loss(models):
    for m in models:
        if m.get("kind") == "gpt" and num(m.get("val_loss")) is not None:
            return num(m["val_loss"])
    return None


# ---------- 1. language modelling ----------

def section_lm(lm, out_dir):
    out = ["## 1. Language modelling", ""]
    models = [m for m in (lm or {}).get("models") or [] if isinstance(m, dict)]
    if not models:
        for name in ("lm_losses.png", "per_offset_nll.png"):
            drop_stale(out_dir, name)
        return out + ["_No language-model results in this file._", ""]
    models.sort(key=lambda m: m.get("kind") != "gpt")  # GPT rows first, order kept
    out += ["Held-out loss in nats/token at equal parameters: the GPT's validation loss; for WFC, the first-slot "
            "NLL (next-token prediction from max entropy) and the chain NLL, the exact NLL that first-future "
            "generation assigns to the validation text (teacher-forced; every solve cold, as the generator runs; "
            "`warm`: slots carried over). Training cost (FLOPs estimated from the shapes), generation speed, and "
            "sample quality: the GPT baseline's NLL of each model's samples (temperature 0.8).", ""]
    out += table(
        ["model", "params (M)", "train iters", "train GFLOPs", "ms/iter", "val loss", "first-slot NLL",
         "chain NLL", "chain NLL, warm", "chain steps/token", "gen tokens/s", "gen steps/token", "sample NLL (GPT)"],
        [[text(m.get("name")), fmt(m.get("params"), ".2f", 1e-6), fmt(m.get("iterations"), ",.0f"),
          fmt(m.get("train_flops"), ",.3g", 1e-9), fmt(m.get("ms_per_iter"), ".1f"), fmt(m.get("val_loss")),
          fmt(m.get("first_slot_nll")), fmt(m.get("chain_nll")), fmt(m.get("chain_nll_warm")),
          fmt(m.get("chain_steps_per_token"), ".2f"),
          fmt(m.get("gen_tokens_per_s"), ",.0f"), fmt(m.get("gen_steps_per_token"), ".2f"),
          fmt(m.get("sample_nll"))] for m in models])
    gpt = gpt_val_loss(models)
    out += plot_lm_losses(models, gpt, out_dir)

    # NLL by slot offset
    wfc = [m for m in models if m.get("kind") != "gpt" and m.get("per_offset")]
    out += ["### NLL by slot offset", ""]
    if wfc:
        fmax = max(len(m["per_offset"]) for m in wfc)
        out += ["WFC NLL (nats/token) of the token k positions ahead, read from future slot k.", ""]
        out += table(["model"] + [f"offset {k}" for k in range(fmax)],
                     [[text(m.get("name"))] + [fmt(v) for v in m["per_offset"]]
                      + [""] * (fmax - len(m["per_offset"])) for m in wfc])
        out += plot_per_offset(wfc, gpt, out_dir)
    else:
        drop_stale(out_dir, "per_offset_nll.png")
        out += ["_No per-offset NLLs in this file._", ""]

    # Early exit
    early = [e for e in (lm or {}).get("early_exit") or [] if isinstance(e, dict)]
    out += ["### Early exit", ""]
    if early:
        out += ["Chain NLL and solver steps/token when each solve stops once its residual falls below the tolerance "
                "(or at the limit), instead of after training's K steps: relative is ‖Δx‖/‖x‖, belief the largest KL "
                "(nats) between a slot's successive distributions; cold restarts every solve, warm carries the slots' "
                "states; converged is the share of solves that met the tolerance, ρ the Spearman correlation of a "
                "solve's steps with slot 0's entropy.", ""]
        out += table(["model", "criterion", "tolerance", "start", "chain NLL", "steps/token", "converged", "ρ"],
                     [[text(e.get("model")), text(e.get("criterion", "relative")), fmt(e.get("tolerance"), ".3g"),
                       text(e.get("start", "cold")), fmt(e.get("chain_nll")), fmt(e.get("steps_per_token"), ".2f"),
                       fmt(e.get("converged_fraction"), ".2f"), fmt(e.get("steps_entropy_spearman"), ".2f")]
                      for e in early])
    else:
        out += ["_No early-exit results in this file._", ""]
    return out


def plot_lm_losses(models, gpt, out_dir):
    series = [("Validation loss (GPT)", "val_loss"), ("First-slot NLL (WFC)", "first_slot_nll"),
              ("Chain NLL (WFC)", "chain_nll")]
    if not any(num(m.get(k)) is not None for m in models for _, k in series):
        drop_stale(out_dir, "lm_losses.png")
        return ["_No losses to plot._", ""]
    fig, ax = plt.subplots(figsize=(max(7.5, 1.5 * len(models) + 3.5), 4.5))
    width, seen = 0.26, {}
    for i, m in enumerate(models):
        present = [(j, lab, num(m.get(k))) for j, (lab, k) in enumerate(series) if num(m.get(k)) is not None]
        for p, (j, lab, v) in enumerate(present):  # bars centred on the model, no gaps
            x = i + (p - (len(present) - 1) / 2) * width
            bars = ax.bar(x, v, width, color=COLORS[j])
            ax.bar_label(bars, fmt="%.3f", fontsize=8)
            seen[j] = (bars, lab)
    handles = [seen[j] for j in sorted(seen)]  # legend in series order
    if gpt is not None:
        handles.append((ax.axhline(gpt, color="black", ls="--", lw=1), f"GPT val loss ({gpt:.3f})"))
    ax.set_xticks(range(len(models)), [wrap(m.get("name")) for m in models])
    ax.set_ylabel("nats / token")
    ax.set_title("Language modelling: held-out loss")
    ax.set_ylim(0, ax.get_ylim()[1] * 1.05)
    ax.legend(*zip(*handles), fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return save(fig, out_dir, "lm_losses.png")


def plot_per_offset(wfc, gpt, out_dir):
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    for m in wfc:
        ys = [num(v) for v in m["per_offset"]]
        ax.plot(range(len(ys)), [math.nan if v is None else v for v in ys], marker="o", label=m.get("name"))
    if gpt is not None:
        ax.axhline(gpt, color="black", ls="--", lw=1, label=f"GPT val loss ({gpt:.3f})")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("slot offset k (tokens ahead)")
    ax.set_ylabel("NLL (nats / token)")
    ax.set_title("WFC: NLL by future-slot offset")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return save(fig, out_dir, "per_offset_nll.png")


# ---------- 2. path-star planning ----------

def sort_key(v):
    return (v is None, num(v) or 0)


def section_path_star(ps, out_dir):
    out = ["## 2. Planning on path-star graphs", ""]
    runs = [r for r in (ps or {}).get("runs") or [] if isinstance(r, dict)]
    if not runs:
        drop_stale(out_dir, "path_star.png")
        return out + ["_No path-star results in this file._", ""]
    out += ["Share of test graphs (D arms of length L, N node labels) where the whole path from start to goal "
            "is generated exactly; guessing the arm scores 1/D.", ""]
    settings = (ps or {}).get("settings")
    if isinstance(settings, dict):
        out += ["Training: " + ", ".join(f"{k} {text(json.dumps(v) if isinstance(v, bool) else v)}" for k, v in settings.items()) + ".", ""]
    inv = lambda d: 1 / num(d) if num(d) else None  # noqa: E731
    out += table(["D", "L", "N", "model", "exact-path acc", "first-node acc", "1/D", "final training loss", "training wall"],
                 [[fmt(r.get("D"), ".0f"), fmt(r.get("L"), ".0f"), fmt(r.get("N"), ".0f"), text(r.get("model")),
                   fmt(r.get("accuracy")), fmt(r.get("first_node_accuracy")), fmt(inv(r.get("D"))),
                   fmt(r.get("train_loss")), wall_time(r.get("train_seconds"))] for r in runs])
    # One group of bars per (D, L, N) setting, one colour per model.
    groups = {}
    for r in runs:
        groups.setdefault((r.get("D"), r.get("L"), r.get("N")), []).append(r)
    keys = sorted(groups, key=lambda k: tuple(sort_key(v) for v in k))
    names = list(dict.fromkeys(str(r.get("model")) for r in runs))
    fig, ax = plt.subplots(figsize=(max(6.5, 0.55 * len(runs) + 1.2 * len(keys) + 2), 4.5))
    width, x0, ticks, seen = 0.8, 0.0, [], set()
    for (d, l_, n) in keys:
        grp = groups[(d, l_, n)]
        xs = [x0 + i * width for i in range(len(grp))]
        for x, r in zip(xs, grp):
            name = str(r.get("model"))
            acc = num(r.get("accuracy"))
            c = COLORS[names.index(name) % len(COLORS)]
            ax.bar(x, acc or 0, width * 0.9, color=c, label=None if name in seen else name)
            ax.text(x, (acc or 0) + 0.01, DASH if acc is None else f"{acc:.2f}", ha="center", fontsize=8)
            seen.add(name)
        if inv(d) is not None:
            ax.hlines(inv(d), xs[0] - width / 2, xs[-1] + width / 2, colors="black", linestyles="--", lw=1,
                      label=None if "chance" in seen else "chance (1/D)")
            seen.add("chance")
        ticks.append(((xs[0] + xs[-1]) / 2, f"D={fmt(d, '.0f')}\nL={fmt(l_, '.0f')}, N={fmt(n, '.0f')}"))
        x0 = xs[-1] + 2 * width
    ax.set_xticks([t for t, _ in ticks], [lab for _, lab in ticks])
    ax.set_ylim(0, 1.1)
    ax.set_ylabel("exact-path accuracy")
    ax.set_title("Path-star planning")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return out + save(fig, out_dir, "path_star.png")


# ---------- 3. infilling ----------

def section_infilling(inf, out_dir):
    out = ["## 3. Infilling", ""]
    runs = [r for r in (inf or {}).get("runs") or [] if isinstance(r, dict)]
    if not runs:
        drop_stale(out_dir, "infilling.png")
        return out + ["_No infilling results in this file._", ""]
    out += ["Filling a gap of `gap` characters with `pinned` known characters after it: "
            "character accuracy and NLL (nats/char) over the gap.", ""]
    out += table(["model", "gap", "pinned span", "char accuracy", "NLL (nats/char)"],
                 [[text(r.get("model")), fmt(r.get("gap"), ".0f"), fmt(r.get("pinned"), ".0f"),
                   fmt(r.get("accuracy")), fmt(r.get("nll"))] for r in runs])
    labels = [f"{wrap(r.get('model'), 28)}\ngap {fmt(r.get('gap'), '.0f')}, pin {fmt(r.get('pinned'), '.0f')}"
              for r in runs]
    fig, axes = plt.subplots(1, 2, sharey=True, figsize=(10, max(3.0, 0.75 * len(runs) + 1.2)))
    for ax, key, xlabel, color in ((axes[0], "accuracy", "character accuracy", COLORS[0]),
                                   (axes[1], "nll", "NLL (nats / char)", COLORS[1])):
        vals = [num(r.get(key)) for r in runs]
        bars = ax.barh(range(len(runs)), [v or 0 for v in vals], color=color)
        ax.bar_label(bars, labels=[DASH if v is None else f"{v:.3f}" for v in vals], fontsize=8, padding=2)
        ax.set_xlabel(xlabel)
        ax.margins(x=0.18)
    axes[0].set_xlim(0, 1.15)
    axes[0].set_yticks(range(len(runs)), labels, fontsize=8)
    axes[0].invert_yaxis()
    axes[0].set_title("Infilling: accuracy")
    axes[1].set_title("Infilling: NLL")
    return out + save(fig, out_dir, "infilling.png")


# ---------- 4. compute adaptivity ----------

def section_adaptivity(ad, out_dir):
    out = ["## 4. Compute adaptivity", ""]
    bins = [b for b in (ad or {}).get("by_entropy") or [] if isinstance(b, dict)]
    hist = [h for h in (ad or {}).get("steps_histogram") or [] if isinstance(h, dict)]
    if not bins and not hist:
        drop_stale(out_dir, "adaptivity.png")
        return out + ["_No adaptivity results in this file._", ""]
    out += [f"Solver steps per token of the validation text (teacher-forced, every solve cold) for {text(ad.get('model'))} (tolerance {fmt(ad.get('tolerance'), '.3g')}, "
            f"limit {fmt(ad.get('limit'), '.0f')}, {fmt(ad.get('tokens'), ',.0f')} tokens) against the entropy "
            "of slot 0's distribution after the solve (bits).", ""]
    if bins:
        out += table(["entropy (bits)", "tokens", "mean steps"],
                     [[f"{fmt(b.get('lo'), '.2f')}–{fmt(b.get('hi'), '.2f')}", fmt(b.get("count"), ",.0f"),
                       fmt(b.get("mean_steps"), ".2f")] for b in bins])
    out += [f"Pearson r = {fmt(ad.get('pearson'))}, Spearman ρ = {fmt(ad.get('spearman'))}, "
            f"mean steps/token = {fmt(ad.get('mean_steps'), '.2f')}.", ""]
    if hist:
        total = sum(num(h.get("count")) or 0 for h in hist)
        out += table(["steps", "tokens", "share"],
                     [[fmt(h.get("steps"), ".0f"), fmt(h.get("count"), ",.0f"),
                       fmt((num(h.get("count")) or 0) / total if total else None)] for h in hist])

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4.2))
    pts = [(num(h.get("steps")), num(h.get("count"))) for h in hist]
    pts = [(s, c) for s, c in pts if s is not None and c is not None]
    if pts:
        steps = [s for s, _ in pts]
        a1.bar(steps, [c for _, c in pts], color=COLORS[0], width=0.8)
        lo, hi = int(min(steps)), int(max(steps))
        if hi - lo <= 30:  # label every step count
            a1.set_xticks(range(lo, hi + 1))
    else:
        a1.text(0.5, 0.5, "no data", ha="center", transform=a1.transAxes)
    mean = num(ad.get("mean_steps"))
    if mean is not None:
        a1.axvline(mean, color="black", ls="--", lw=1, label=f"mean {mean:.2f}")
        a1.legend(fontsize=8)
    a1.set_xlabel("solver steps per token")
    a1.set_ylabel("tokens")
    a1.set_title("Steps per token")
    pts = [((num(b.get("lo")) + num(b.get("hi"))) / 2, num(b.get("mean_steps"))) for b in bins
           if None not in (num(b.get("lo")), num(b.get("hi")), num(b.get("mean_steps")))]
    if pts:
        a2.plot([x for x, _ in pts], [y for _, y in pts], marker="o", color=COLORS[1])
    else:
        a2.text(0.5, 0.5, "no data", ha="center", transform=a2.transAxes)
    a2.set_xlabel("entropy of the prediction (bits, bin centre)")
    a2.set_ylabel("mean solver steps")
    a2.set_title(f"Steps vs entropy (Spearman ρ = {fmt(ad.get('spearman'))})")
    a2.grid(alpha=0.3)
    return out + save(fig, out_dir, "adaptivity.png")


# ---------- main ----------

def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    with open(sys.argv[1]) as f:
        res = json.load(f)  # Python's json reads NaN/Infinity too; num() screens them out
    out_dir = sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    md = ["# WFC vs GPT validation study", "",
          f"- Preset: `{text(res.get('preset'))}`",
          f"- Data: {text(res.get('data'))}",
          f"- Total wall time: {wall_time(res.get('wall_seconds'))}", ""]
    md += section_lm(res.get("language_model"), out_dir)
    md += section_path_star(res.get("path_star"), out_dir)
    md += section_infilling(res.get("infilling"), out_dir)
    md += section_adaptivity(res.get("adaptivity"), out_dir)
    path = os.path.join(out_dir, "results.md")
    with open(path, "w") as f:
        f.write("\n".join(md))
    print(path)


if __name__ == "__main__":
    main()
