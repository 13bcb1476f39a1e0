#!/usr/bin/env python3
"""The table of issue 19's runs: one row per `wfc eval --json` result in OUT_DIR (docs/rolling).

usage: experiments/rolling/table.py [OUT_DIR]"""
import glob
import json
import os
import sys


def fmt(v, spec=".3f"):
    return "—" if v is None else format(v, spec)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "docs/rolling"
    here = os.path.dirname(os.path.abspath(__file__))
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "*.eval.json"))):
        name = os.path.basename(path)[: -len(".eval.json")]
        if os.path.getsize(path) == 0:
            continue  # being written
        with open(path) as f:
            r = json.load(f)
        config = os.path.join(here, name + ".json")
        flags = ""
        if os.path.exists(config):
            with open(config) as f:
                c = json.load(f)
            flags = " ".join(f"--{k} {v}" if not isinstance(v, bool) else f"--{k}" for k, v in c.items()
                             if k not in ("model", "positions", "future"))
        steps = {b["steps"]: b["nll"] for b in r.get("nll_by_steps", [])}
        warm = r.get("warm_nll_by_steps", [])
        K = min(steps) if steps else None
        rows.append([name, f"`{flags}`", fmt(r.get("chain_nll")),
                     " / ".join(fmt(steps[k]) for k in sorted(steps)),
                     " / ".join(fmt(b["nll"]) for b in warm),
                     fmt(r.get("chain_nll_cold")), fmt(r.get("steps_per_token_cold"), ".2f"),
                     fmt(r.get("chain_nll_warm")), fmt(r.get("steps_per_token_warm"), ".2f"),
                     fmt(r.get("converged_fraction"), ".2f"), fmt(r.get("steps_entropy_spearman"), ".2f")])
    head = ["run", "flags", "chain NLL (K, cold)", "cold at K / 2K / 4K", "warm at 1 / K / 2K",
            "cold, converging: NLL", "steps/token", "warm, converging: NLL", "steps/token", "converged (warm)",
            "Spearman steps~entropy (warm)"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
