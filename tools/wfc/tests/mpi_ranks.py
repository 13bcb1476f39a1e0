#!/usr/bin/env python3
"""`wfc train` under mpirun (ctest: cli_mpi_ranks). For a GPT and a WFC model trained any-order:
one plain process, then mpirun with 1, 2 and 4 ranks on the same global batch, must give the same
loss at every iteration and the same final weights (within 1e-5). A run stopped halfway under 2
ranks and resumed under 2 ranks retraces the uninterrupted one, loss for loss as printed. SIGUSR1 to mpirun
stops every rank after the same step, saved. A batch the ranks cannot share is refused on every
rank with one clear error, not a hang.

Usage: mpi_ranks.py WFC DATA WORK MPIEXEC [MPIEXEC_FLAG ...]   (standard library only)"""
import array
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time

TOLERANCE = 1e-5
TINY = ["--layers", "1", "--heads", "2", "--width", "32", "--block", "32", "--batch", "4", "--iterations", "8",
        "--warmup", "2", "--eval-interval", "4", "--eval-batches", "2", "--seed", "5"]
MODELS = {
    "gpt": ["--positions", "rotary"],
    "wfc": ["--model", "wfc", "--future", "4", "--steps", "2", "--any-order", "--bound-weight", "--deep-supervision", "0.5"],
}


def run(command, expect_ok=True):
    done = subprocess.run(command, capture_output=True, text=True, timeout=240)
    if expect_ok and done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(command)}\n{done.stdout}\n{done.stderr}")
    return done


def losses(path):
    with open(path) as f:
        return [(r["iteration"], r["loss"]) for r in map(json.loads, f)]


def tensors(path):
    """Every float32 tensor of a safetensors file, by name."""
    with open(path, "rb") as f:
        blob = f.read()
    (size,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + size])
    out = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        begin, end = info["data_offsets"]
        values = array.array("f")
        values.frombytes(blob[8 + size + begin:8 + size + end])
        out[name] = values
    return out


def largest_difference(a, b):
    if a.keys() != b.keys():
        sys.exit(f"the checkpoints hold different tensors: {sorted(a)} against {sorted(b)}")
    return max(max((abs(x - y) for x, y in zip(a[k], b[k])), default=0.0) for k in a)


def main():
    wfc, data, work, launcher = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    failures = []
    for name, flags in MODELS.items():
        def train(tag, ranks, *extra):
            prefix = [] if ranks == 0 else launcher + ["-np", str(ranks)]
            out = os.path.join(work, f"{name}-{tag}")
            run(prefix + [wfc, "train", data] + TINY + flags + ["--out", out + ".safetensors", "--metrics", out + ".jsonl"] + list(extra))
            return out

        alone = train("alone", 0)
        want_losses, want_weights = losses(alone + ".jsonl"), tensors(alone + ".safetensors")
        for ranks in (1, 2, 4):
            got = train(f"{ranks}-ranks", ranks)
            got_losses = losses(got + ".jsonl")
            if [i for i, _ in got_losses] != [i for i, _ in want_losses]:
                failures.append(f"{name}, {ranks} ranks: logged iterations {[i for i, _ in got_losses]}")
                continue
            loss_gap = max(abs(a - b) for (_, a), (_, b) in zip(got_losses, want_losses))
            weight_gap = largest_difference(tensors(got + ".safetensors"), want_weights)
            print(f"{name}, {ranks} rank(s) against one process: largest loss difference {loss_gap:.3g} over "
                  f"{len(got_losses)} iterations, largest weight difference {weight_gap:.3g}")
            if loss_gap > TOLERANCE or weight_gap > TOLERANCE:
                failures.append(f"{name}, {ranks} ranks: loss {loss_gap:.3g}, weights {weight_gap:.3g} (over {TOLERANCE})")

        # Stopped at iteration 4 under 2 ranks, resumed under 2 ranks: the uninterrupted 2-rank run.
        whole = losses(os.path.join(work, f"{name}-2-ranks.jsonl"))
        part = train("resumed", 2, "--stop-at", "4")
        run(launcher + ["-np", "2", wfc, "train", data, "--resume", part + ".safetensors", "--metrics", part + ".jsonl"])
        if losses(part + ".jsonl") != whole:
            failures.append(f"{name}: the resumed 2-rank run differs:\n  whole {whole}\n  resumed {losses(part + '.jsonl')}")
        else:
            print(f"{name}: stopped at 4 and resumed under 2 ranks, the same loss at all {len(whole)} iterations")

    # SIGUSR1 to mpirun (which forwards it to every rank): all ranks stop after the same step, rank 0
    # saves it, the job exits 75 (resume me), and no logged step is lost.
    long = [("100000" if previous == "--iterations" else ("100000" if previous == "--eval-interval" else flag))
            for previous, flag in zip([""] + TINY, TINY)]
    stopped = os.path.join(work, "signalled")
    job = subprocess.Popen(launcher + ["-np", "2", wfc, "train", data] + long + ["--out", stopped + ".safetensors", "--metrics",
                                                                                 stopped + ".jsonl"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for _ in range(600):  # until some steps are logged
        time.sleep(0.05)
        if os.path.exists(stopped + ".jsonl") and os.path.getsize(stopped + ".jsonl") > 2000:
            break
    job.send_signal(signal.SIGUSR1)
    output, _ = job.communicate(timeout=120)
    logged = len(losses(stopped + ".jsonl"))
    info = run([wfc, "info", stopped + ".safetensors"]).stdout
    saved = re.search(r"training: iteration (\d+) of", info)
    if job.returncode != 75 or "stopped by SIGUSR1" not in output or not saved or int(saved.group(1)) != logged:
        failures.append(f"SIGUSR1 under 2 ranks: exit {job.returncode}, {logged} steps logged, saved {saved and saved.group(1)}\n{output}")
    else:
        print(f"SIGUSR1 under 2 ranks: exit 75 after iteration {logged}, saved there by rank 0")

    # A batch of 1 cannot be shared by 2 ranks: one error, every rank stops.
    one_row = [("1" if previous == "--batch" else flag) for previous, flag in zip([""] + TINY, TINY)]
    bad = run(launcher + ["-np", "2", wfc, "train", data] + one_row + ["--out", os.path.join(work, "never.safetensors")], expect_ok=False)
    errors = [line for line in (bad.stdout + bad.stderr).splitlines() if line.startswith("error:")]
    if bad.returncode == 0 or len(errors) != 1 or "cannot be split across 2 processes" not in errors[0]:
        failures.append(f"a batch of 1 on 2 ranks: exit {bad.returncode}, error lines {errors}\n{bad.stdout}\n{bad.stderr}")
    else:
        print(f"a batch of 1 on 2 ranks: exit {bad.returncode}, {errors[0]}")

    # Only training is data-parallel: another command under 2 ranks is refused once, by rank 0.
    info = run(launcher + ["-np", "2", wfc, "info", os.path.join(work, "gpt-alone.safetensors")], expect_ok=False)
    errors = [line for line in (info.stdout + info.stderr).splitlines() if line.startswith("error:")]
    if info.returncode == 0 or len(errors) != 1 or "only `wfc train` is data-parallel" not in errors[0]:
        failures.append(f"wfc info on 2 ranks: exit {info.returncode}, error lines {errors}")
    else:
        print(f"wfc info on 2 ranks: {errors[0]}")

    if failures:
        sys.exit("\n".join(failures))
    print("every rank count gave the one-process run")


if __name__ == "__main__":
    main()
