#!/usr/bin/env python3
"""Run the wfc kernel benchmarks once and print their results as Markdown tables.

    python3 benchmarks/report.py build/benchmarks                 # every bench_* executable there
    python3 benchmarks/report.py build/benchmarks/bench_gemm      # some executables
    python3 benchmarks/report.py --save results/ build/benchmarks # also keep each run's JSON
    python3 benchmarks/report.py results/*.json                   # tabulate saved runs again
    python3 benchmarks/report.py build/benchmarks -- --benchmark_min_time=0.2

Arguments after `--` go to every executable. Each executable runs exactly once, so every ratio
compares backends measured in the same run. The benchmarks are named
"<kernel>/<shape>/<backend>"; backends are reference, cpu, kokkos, and eigen (Eigen called
directly, GEMM only). A speed-up "A over B" is B's time divided by A's: above 1, A is faster.
Standard library only.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time

BACKENDS = ("reference", "cpu", "kokkos", "eigen")

# Suffixes Google Benchmark appends to a name for per-benchmark settings.
SETTING_SUFFIX = re.compile(
    r"(/(iterations|repeats|min_time|min_warmup_time|threads|real_time|process_time|manual_time)(:[^/]*)?)+$")

# The GEMMs the CPU backend is judged on against Eigen (the headline of the first table).
HEADLINE_GEMMS = ("nn_m512_k512_n512", "nn_m768_k128_n512")

# The row kernels whose CPU speed-up over the reference loops the second table shows.
CPU_VS_REFERENCE = ("gelu_forward", "gelu_backward", "softmax_forward", "softmax_backward",
                    "layernorm_forward", "layernorm_backward", "cross_entropy_forward",
                    "cross_entropy_backward")


# ---- running --------------------------------------------------------------------------------------

# Executables in a directory run in this order (others after them, by name).
ORDER = ("bench_model", "bench_gemm", "bench_rowwise", "bench_elementwise")


def executables_in(path):
    """The benchmark executables a path names: itself, or the bench_* programs in a directory."""
    if os.path.isdir(path):
        order = lambda f: (ORDER.index(f) if f in ORDER else len(ORDER), f)
        found = sorted((f for f in os.listdir(path)
                       if f.startswith("bench_") and os.path.isfile(os.path.join(path, f))
                       and os.access(os.path.join(path, f), os.X_OK)), key=order)
        found = [os.path.join(path, f) for f in found]
        if not found:
            sys.exit(f"report.py: no bench_* executables in {path} (built with WFC_BUILD_BENCHMARKS=ON?)")
        return found
    if not os.path.isfile(path):
        sys.exit(f"report.py: {path}: no such file or directory")
    return [path]


def run(exe, extra_args, save_dir):
    """Runs one executable once and returns its JSON document."""
    name = os.path.basename(exe)
    print(f"report.py: running {name} ...", file=sys.stderr, flush=True)
    start = time.monotonic()
    proc = subprocess.run([exe, "--benchmark_format=json", *extra_args],
                          stdout=subprocess.PIPE, text=True)  # stderr passes through
    if proc.returncode != 0:
        sys.exit(f"report.py: {name} exited with status {proc.returncode}")
    print(f"report.py: {name} took {time.monotonic() - start:.0f} s", file=sys.stderr, flush=True)
    if not proc.stdout.strip():  # a --benchmark_filter that matched nothing here
        return {}
    if save_dir:
        os.makedirs(save_dir, exist_ok=True)
        with open(os.path.join(save_dir, name + ".json"), "w") as f:
            f.write(proc.stdout)
    return json.loads(proc.stdout)


def load(path):
    with open(path) as f:
        return json.load(f)


# ---- parsing --------------------------------------------------------------------------------------

TO_MICROSECONDS = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


class Result:
    def __init__(self, entry):
        self.time_us = entry["real_time"] * TO_MICROSECONDS[entry.get("time_unit", "ns")]
        self.label = entry.get("label", "")
        self.rate = None
        for unit in ("GFLOP/s", "GB/s", "tokens/s"):
            if unit in entry:
                self.rate = (entry[unit], unit)
                break


def parse(doc, results):
    """Adds doc's results to results[(kernel, shape)][backend]. With repetitions, the median."""
    chosen = {}
    for entry in doc.get("benchmarks", []):
        if entry.get("error_occurred"):
            print(f"report.py: {entry['name']} failed: {entry.get('error_message', '')}", file=sys.stderr)
            continue
        name = SETTING_SUFFIX.sub("", entry.get("run_name", entry["name"]))
        if entry.get("run_type") == "aggregate":
            rank = {"median": 0, "mean": 1}.get(entry.get("aggregate_name"))
            if rank is None:
                continue
        else:
            rank = 2
        if name not in chosen or rank < chosen[name][0]:
            chosen[name] = (rank, entry)
    for name, (_, entry) in chosen.items():
        parts = name.split("/")
        if len(parts) < 3 or parts[-1] not in BACKENDS:
            continue
        kernel, shape, backend = parts[0], "/".join(parts[1:-1]), parts[-1]
        results.setdefault((kernel, shape), {})[backend] = Result(entry)


# ---- formatting -----------------------------------------------------------------------------------

def fmt_time(us):
    if us >= 1e5:
        return f"{us / 1e3:,.0f} ms"
    if us >= 1e4:
        return f"{us / 1e3:.1f} ms"
    return f"{us:.3g} µs" if us < 100 else f"{us:.0f} µs"


def fmt_rate(r):
    return "—" if r is None or r.rate is None else f"{r.rate[0]:.3g} {r.rate[1]}"


def speedup(fast, slow):
    """How many times faster `fast` is than `slow` (slow's time over fast's)."""
    if fast is None or slow is None:
        return "—"
    return f"{slow.time_us / fast.time_us:.2f}×"


def shape_text(kernel, shape):
    """gemm shapes as the operands are stored: nt_m768_k128_n512 -> 768×128 · (512×128)ᵀ."""
    m = re.fullmatch(r"(nn|tn|nt)(?:_b(\d+))?_m(\d+)_k(\d+)_n(\d+)", shape)
    if not m:
        return shape.replace("_", " ")
    form, batch, rows, inner, cols = m.groups()
    a = f"({inner}×{rows})ᵀ" if form == "tn" else f"{rows}×{inner}"
    b = f"({cols}×{inner})ᵀ" if form == "nt" else f"{inner}×{cols}"
    text = f"{a} · {b}"
    return f"{batch} × [{text}]" if batch else text


def table(header, rows, text_columns=1):
    """A Markdown table; the first text_columns columns are left-aligned, the numbers right."""
    rule = "|" + "|".join("---" if i < text_columns else "---:" for i in range(len(header))) + "|"
    out = ["| " + " | ".join(header) + " |", rule]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(out)


def report(results, contexts, extra_args):
    lines = ["# wfc kernel benchmarks", ""]
    ctx = contexts[0] if contexts else {}
    facts = [ctx.get("date", ""), ctx.get("host_name", "")]
    if "num_cpus" in ctx:
        facts.append(f"{ctx['num_cpus']} CPUs at {ctx.get('mhz_per_cpu', '?')} MHz")
    for key, text in (("wfc_openmp_threads", "OpenMP threads: "), ("wfc_backends", "backends: "),
                      ("wfc_kokkos_execution_space", "Kokkos execution space: ")):
        if key in ctx:
            facts.append(text + ctx[key])
    if ctx.get("load_avg"):
        facts.append("load average " + ", ".join(f"{x:.2f}" for x in ctx["load_avg"]))
    if ctx.get("library_build_type") == "debug":
        facts.append("libbenchmark reports a debug build (as Debian's does; it times alike)")
    if extra_args:
        facts.append("arguments: `" + " ".join(extra_args) + "`")
    lines += ["; ".join(f for f in facts if f) + ".",
              "Wall-clock time per call; every ratio compares backends measured in the same run "
              "(one run per executable). \"A over B\" = B's time / A's time: above 1, A is faster.", ""]

    # 0. The whole model: a training iteration, and sampling with the cache vs recomputing.
    rows = []
    for (k, s), r in results.items():
        if k in ("train_iteration", "sample_cached"):
            for backend, res in r.items():
                row = [k, s.replace("_", " "), backend, fmt_time(res.time_us), fmt_rate(res)]
                slow = results.get(("sample_recompute", s), {}).get(backend) if k == "sample_cached" else None
                rows.append(row + [speedup(res, slow) if slow else "—"])
    if rows:
        lines += ["## GPT baseline (nanoGPT CPU configuration)", "",
                  table(["benchmark", "model", "backend", "time per call", "rate", "cache over recompute"], rows, 3), ""]

    # 1. GEMM: the CPU backend against Eigen called directly.
    gemms = [(k, s) for (k, s) in results if k == "gemm" and "eigen" in results[(k, s)] and "cpu" in results[(k, s)]]
    gemms.sort(key=lambda ks: (ks[1] not in HEADLINE_GEMMS, list(results).index(ks)))
    if gemms:
        rows = []
        for key in gemms:
            r = results[key]
            cpu, eigen = r["cpu"], r["eigen"]
            bold = "**" if key[1] in HEADLINE_GEMMS else ""
            rows.append([f"{bold}{shape_text(*key)}{bold}", r["cpu"].label, fmt_rate(cpu), fmt_rate(eigen),
                         f"{bold}{eigen.time_us / cpu.time_us:.2f}{bold}"])
        lines += ["## GEMM: wfc CPU backend vs Eigen called directly", "",
                  table(["c = a · b", "role", "wfc cpu", "Eigen", "wfc / Eigen"], rows, 2), ""]

    # 2. Row kernels: CPU over reference.
    rows = []
    for (k, s), r in results.items():
        if k in CPU_VS_REFERENCE and "cpu" in r and "reference" in r:
            rows.append([k, shape_text(k, s), fmt_time(r["reference"].time_us), fmt_time(r["cpu"].time_us),
                         fmt_rate(r["cpu"]), speedup(r["cpu"], r["reference"])])
    if rows:
        lines += ["## CPU backend over the reference loops", "",
                  table(["kernel", "shape", "reference", "cpu", "cpu rate", "cpu over reference"], rows, 2), ""]

    # 3. Every kernel on every backend.
    has_kokkos = any("kokkos" in r for r in results.values())
    rows = []
    for (k, s), r in results.items():
        ref, cpu, kok = r.get("reference"), r.get("cpu"), r.get("kokkos")
        t = lambda x: "—" if x is None else fmt_time(x.time_us)
        row = [k, shape_text(k, s), t(ref), t(cpu)] + ([t(kok)] if has_kokkos else [])
        row += [fmt_rate(cpu)] + ([fmt_rate(kok)] if has_kokkos else [])
        row += [speedup(cpu, ref)] + ([speedup(kok, cpu), speedup(kok, ref)] if has_kokkos else [])
        rows.append(row)
    header = ["kernel", "shape", "reference", "cpu"] + (["kokkos"] if has_kokkos else [])
    header += ["cpu rate"] + (["kokkos rate"] if has_kokkos else [])
    header += ["cpu over ref"] + (["kokkos over cpu", "kokkos over ref"] if has_kokkos else [])
    lines += ["## Every kernel, every backend", ""]
    if not has_kokkos:
        lines += ["The Kokkos backend is not in this build (configure with -DWFC_ENABLE_KOKKOS=ON).", ""]
    lines += [table(header, rows, 2), ""]
    return "\n".join(lines)


def main():
    argv = sys.argv[1:]
    extra_args = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra_args = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", help="benchmark executables, directories holding them, or saved .json results")
    parser.add_argument("--save", metavar="DIR", help="write each executable's JSON results into DIR")
    parser.add_argument("--output", metavar="FILE", help="write the Markdown there instead of to stdout")
    args = parser.parse_args(argv)

    results, contexts = {}, []
    for path in args.paths:
        if path.endswith(".json"):
            docs = [load(path)]
        else:
            docs = [run(exe, extra_args, args.save) for exe in executables_in(path)]
        for doc in docs:
            if "context" in doc:
                contexts.append(doc["context"])
            parse(doc, results)
    if not results:
        sys.exit("report.py: no benchmark results")
    text = report(results, contexts, extra_args)
    if args.output:
        with open(args.output, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
