#!/usr/bin/env python3
"""summary.md of a scripts/gpu-run.sh run: GPU against CPU, and wfc against PyTorch.

    python3 scripts/gpu-summary.py [--phases phases.tsv] [--out summary.md] RESULTS_DIR

RESULTS_DIR holds what gpu-run.sh wrote: bench_model.json, bench_gemm.json, bench_rowwise.json,
bench_elementwise.json (Google Benchmark JSON; "<kernel>/<shape>/<backend>" names, backend kokkos
on the GPU and cpu on the host's cores) and pytorch_gpt.json (benchmarks/pytorch_gpt.py's output,
by arithmetic). Whatever is missing is left out of the summary. Standard library only; the
parsing is benchmarks/report.py's.
"""

import argparse
import glob
import json
import math
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in benchmarks/
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchmarks"))
import report  # noqa: E402  (Result, parse, fmt_time, table)

# What the issue measured with PyTorch on the CPU machine's 2 cores at the GPU shape.
PYTORCH_2_CORES_MS = 10400.0
GPU_SHAPE = "l6_h6_d384_t256"
GPU_SHAPE_TEXT = "6 layers, 6 heads, d = 384, block 256, vocabulary 65"


def load_benchmarks(directory):
    results, contexts, files = {}, [], []
    for path in sorted(glob.glob(os.path.join(directory, "bench_*.json"))):
        try:
            doc = report.load(path)
        except (OSError, ValueError) as e:
            print(f"gpu-summary: {path}: {e}", file=sys.stderr)
            continue
        files.append(os.path.basename(path))
        contexts.append(doc.get("context", {}))
        report.parse(doc, results)
    return results, contexts, files


def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def ms(result):
    return None if result is None else result.time_us / 1e3


def fmt_ms(value):
    if value is None:
        return "—"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.3g} ms"


def fmt_ratio(num, den):
    if num is None or den is None or den == 0:
        return "—"
    return f"{num / den:.2f}×"


def rate(result, unit="tokens/s"):
    if result is None or result.rate is None or result.rate[1] != unit:
        return None
    return result.rate[0]


def fmt_rate(value):
    return "—" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", help="the folder gpu-run.sh wrote its results to")
    ap.add_argument("--phases", help="gpu-run.sh's phases.tsv (name, status, seconds)")
    ap.add_argument("--out", help="write the Markdown here (default: print it)")
    args = ap.parse_args()

    results, contexts, files = load_benchmarks(args.results)
    torch_doc = load_json(os.path.join(args.results, "pytorch_gpt.json")) or {}
    ctx = contexts[0] if contexts else {}
    torch32 = torch_doc.get("float32") or {}
    torch16 = torch_doc.get("bfloat16_autocast_tf32") or {}
    device = torch32.get("device") or torch16.get("device") or "the GPU"

    lines = [f"# wfc on {device}: GPU (Kokkos/CUDA) against CPU, and against PyTorch", ""]
    facts = [ctx.get("date", ""), ctx.get("host_name", "")]
    if "num_cpus" in ctx:
        facts.append(f"{ctx['num_cpus']} CPUs")
    for key, text in (("wfc_backends", "backends: "), ("wfc_kokkos_execution_space", "Kokkos execution space: "),
                      ("wfc_openmp_threads", "OpenMP threads (cpu backend): ")):
        if key in ctx:
            facts.append(text + ctx[key])
    if torch32:
        facts.append(f"PyTorch {torch32.get('torch', '?')}")
    if any(facts):
        lines += ["; ".join(f for f in facts if f) + ".", ""]
    lines += ["Backends: **kokkos** is wfc's Kokkos backend on the GPU (Kokkos 3.4.1, CUDA, sm_90), **cpu** "
              "wfc's CPU backend (Eigen, xsimd, OpenMP) on the machine's cores, in the same executables. "
              "A speed-up \"A over B\" is B's time / A's time.", ""]

    if args.phases and os.path.exists(args.phases):
        rows = []
        with open(args.phases) as f:
            for line in f:
                parts = line.rstrip("\n").split("\t")
                if len(parts) == 3:
                    rows.append([parts[0], parts[1], parts[2] + " s"])
        if rows:
            lines += ["## Phases of gpu-run.sh", "", report.table(["phase", "outcome", "wall time"], rows, 2), ""]

    # ---- training iteration at nanoGPT's GPU shape --------------------------------------------------
    def gpu_shape(kernel, model, batch):
        return results.get((f"gpu_shape_{kernel}", f"{model}_{GPU_SHAPE}_b{batch}"), {})

    gpt_train = gpu_shape("train_iteration", "gpt", 64)
    wfc_train = gpu_shape("train_iteration", "wfc_F4_K2_rotary", 64)
    t32 = (torch32.get("train_iteration") or {}).get("ms_median")
    t16 = (torch16.get("train_iteration") or {}).get("ms_median")
    if gpt_train or wfc_train or t32:
        tokens = 64 * 256
        rows = []

        def add(model, impl, value):
            rows.append([model, impl, fmt_ms(value), fmt_rate(tokens / (value / 1e3)) if value else "—",
                         fmt_ratio(value, t32)])

        add("GPT", "wfc kokkos (GPU)", ms(gpt_train.get("kokkos")))
        add("GPT", "wfc cpu", ms(gpt_train.get("cpu")))
        add("GPT", "PyTorch float32 (GPU)", t32)
        add("GPT", "PyTorch bf16 autocast + TF32 (GPU; nanoGPT's default)", t16)
        add("GPT", "PyTorch, 2 CPU cores of the CPU machine (issue 8)", PYTORCH_2_CORES_MS)
        add("WFC (F 4, K 2, rotary, pinned past)", "wfc kokkos (GPU)", ms(wfc_train.get("kokkos")))
        add("WFC (F 4, K 2, rotary, pinned past)", "wfc cpu", ms(wfc_train.get("cpu")))
        lines += [f"## Training iteration at nanoGPT's GPU shape ({GPU_SHAPE_TEXT}, batch 64)", "",
                  "zero_grad, forward, backward, AdamW step (gradients clipped to 1.0); the median (PyTorch) or "
                  "mean (wfc) of the timed iterations after warm-up ones.", "",
                  report.table(["model", "implementation", "time per iteration", "tokens/s",
                                "time / PyTorch float32 GPU time"], rows, 2), ""]
        g, c = gpt_train.get("kokkos"), gpt_train.get("cpu")
        if g and c:
            lines += [f"GPT: the GPU backend is {c.time_us / g.time_us:.2f}× the CPU backend's speed.", ""]
        if torch32:
            lines += [f"PyTorch: {torch32.get('parameters', '?'):,} parameters, fused AdamW: "
                      f"{torch32.get('fused_adamw')}, torch.compile off, peak memory "
                      f"{torch32.get('max_memory_allocated_gib', float('nan')):.1f} GiB (float32).", ""]

    # ---- generation ----------------------------------------------------------------------------------
    cached = gpu_shape("sample_cached", "gpt", 1)
    recompute = gpu_shape("sample_recompute", "gpt", 1)
    first = gpu_shape("generate_first_future", "wfc_F4_K2_rotary", 1)
    torch_sample = (torch32.get("sample_recompute") or {}).get("tokens_per_s")
    if cached or recompute or first or torch_sample:
        rows = [
            ["GPT, key/value cache (wfc::generate)", fmt_rate(rate(cached.get("kokkos"))),
             fmt_rate(rate(cached.get("cpu"))), "—"],
            ["GPT, whole context recomputed per token (nanoGPT's generate)", fmt_rate(rate(recompute.get("kokkos"))),
             fmt_rate(rate(recompute.get("cpu"))), fmt_rate(torch_sample)],
            ["WFC collapse loop, first_future (one token per solve of K 2 steps)", fmt_rate(rate(first.get("kokkos"))),
             fmt_rate(rate(first.get("cpu"))), "—"],
        ]
        lines += [f"## Generation at batch 1, tokens/s ({GPU_SHAPE_TEXT}; 256 tokens after a one-token prompt)", "",
                  report.table(["what", "wfc kokkos (GPU)", "wfc cpu", "PyTorch float32 (GPU)"], rows, 1), ""]

    # ---- the CPU-shape model benchmarks --------------------------------------------------------------
    rows = []
    for (k, s), r in results.items():
        if k in ("train_iteration", "sample_cached", "sample_recompute") and ("kokkos" in r or "cpu" in r):
            g, c = r.get("kokkos"), r.get("cpu")
            rows.append([k, s.replace("_", " "), report.fmt_time(c.time_us) if c else "—",
                         report.fmt_time(g.time_us) if g else "—", report.speedup(g, c)])
    if rows:
        lines += ["## nanoGPT's CPU shape (4 layers, 4 heads, d = 128, block 64; batch 12 or 1)", "",
                  report.table(["benchmark", "shape", "cpu", "kokkos (GPU)", "GPU over CPU"], rows, 2), ""]

    # ---- kernels ---------------------------------------------------------------------------------------
    rows, logs = [], []
    for (k, s), r in results.items():
        if k.startswith("gpu_shape_") or k in ("train_iteration", "sample_cached", "sample_recompute"):
            continue
        g, c = r.get("kokkos"), r.get("cpu")
        if g is None and c is None:
            continue
        if g and c:
            logs.append(math.log(c.time_us / g.time_us))
        rows.append([k, report.shape_text(k, s), report.fmt_time(c.time_us) if c else "—",
                     report.fmt_time(g.time_us) if g else "—", report.speedup(g, c), report.fmt_rate(g)])
    if rows:
        lines += ["## Kernels: the GPU (kokkos) against the CPU backend", ""]
        if logs:
            lines += [f"Geometric mean of the GPU's speed-up over {len(logs)} kernels: "
                      f"{math.exp(sum(logs) / len(logs)):.2f}× (below 1: the CPU is faster).", ""]
        lines += [report.table(["kernel", "shape", "cpu", "kokkos (GPU)", "GPU over CPU", "kokkos rate"], rows, 2), ""]

    inputs = files + (["pytorch_gpt.json"] if torch_doc else [])
    lines += ["Results read: " + (", ".join(inputs) if inputs else "none (see gpu-run.log)") + ".", ""]
    text = "\n".join(lines)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
