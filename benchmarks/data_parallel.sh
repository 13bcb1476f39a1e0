#!/usr/bin/env bash
# The all-reduce's share of an iteration (docs/data-parallel.md): the same global batch trained by
# one process with 1 and 2 threads and by 2 ranks of 1 thread each, in one run (ratios only mean
# something within a run; the machine must be quiet). Usage: benchmarks/data_parallel.sh [BUILD]
set -euo pipefail
build=${1:-build}
bench=$build/benchmarks/bench_data_parallel
[ -x "$bench" ] || { echo "error: $bench is missing: build with MPI (libopenmpi-dev) first" >&2; exit 1; }
export OMP_WAIT_POLICY=PASSIVE
[ "$(id -u)" -ne 0 ] || export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "$(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "== one process, 1 thread"; "$bench" --threads 1 "${@:2}"
echo "== one process, 2 threads"; "$bench" --threads 2 "${@:2}"
echo "== 2 ranks, 1 thread each"; mpirun --bind-to core -np 2 "$bench" --threads 1 "${@:2}"
