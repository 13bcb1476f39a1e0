#!/usr/bin/env bash
# Run THERE, on the GPU machine (an NVIDIA H200 with CUDA 13, PyTorch, CMake and ninja, no
# network), from the repository root, in one device run with `carry: ["gpu-kit"]` (made here by
# scripts/gpu-prepare.sh):
#
#   phase  what                                                                     output
#   info   GPU, driver, compilers                                                   gpu-run.log
#   kit    unpacks gpu-kit's Debian packages (dpkg -x into a private prefix) and the Kokkos source
#   torch  benchmarks/pytorch_gpt.py at nanoGPT's GPU shape, float32 and bf16       pytorch_gpt.json
#   kokkos builds Kokkos 3.4.1 for CUDA (Serial + Cuda, lambdas, sm_90) with every core
#   build  configures the project (Release, nvcc_wrapper; CPU backend on when its dependencies
#          configure, else off) and builds wfc_tests and the benchmarks
#   model  bench_model: nanoGPT's GPU shape on the GPU (WFC_BENCH_GPU_SHAPE=1), and the CPU
#          shape on the GPU and the CPU backend                                     bench_model.json
#   tests  wfc_tests: every backend, Kokkos on the GPU (failures in the log too)  wfc_tests.log
#   kernels bench_gemm, bench_rowwise, bench_elementwise (cpu and kokkos)           bench_*.json
#   model_cpu bench_model: nanoGPT's GPU shape on the CPU backend (added to bench_model.json)
#   summary GPU against CPU per kernel, training ms/iteration against PyTorch, tokens/s: summary.md
#
# Everything goes to $OUT (the device tool's output folder), else ./gpu-results/. A failed phase
# is recorded and the next one runs; phases that need a failed one's output are skipped. Each
# phase is cut to what is left of a time budget (WFC_GPU_BUDGET seconds, default 550: a device
# command may run 600), so the summary is always written.
#
# Environment: OUT, WFC_GPU_BUDGET, WFC_GPU_JOBS (default nproc), WFC_GPU_WORK (scratch, default
# /tmp/wfc-gpu; a second run in the same machine reuses its builds when WFC_GPU_PHASES leaves
# out kokkos and build), WFC_GPU_KIT (default ./gpu-kit), WFC_GPU_MIN_TIME (kernel benchmarks'
# --benchmark_min_time, default 0.05), WFC_GPU_PHASES (the phases to run, default all, in the
# order above, e.g. "info kit kokkos build tests summary"), WFC_GPU_OMP_THREADS (the CPU
# backend's threads, default every core).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
out=${OUT:-$root/gpu-results}
kit=${WFC_GPU_KIT:-$root/gpu-kit}
work=${WFC_GPU_WORK:-/tmp/wfc-gpu}
cores=$(getconf _NPROCESSORS_ONLN)  # not nproc: it obeys OMP_NUM_THREADS
jobs=${WFC_GPU_JOBS:-$cores}
budget=${WFC_GPU_BUDGET:-550}
min_time=${WFC_GPU_MIN_TIME:-0.05}
only=${WFC_GPU_PHASES:-info kit torch kokkos build model tests kernels model_cpu summary}
mkdir -p "$out" "$work"
log=$out/gpu-run.log
phases=$work/phases.tsv
: >"$phases"
exec > >(tee -a "$log") 2>&1
tee_pid=$!

# The CPU backend gets every core (whatever the image sets), unless WFC_GPU_OMP_THREADS says.
export OMP_NUM_THREADS=${WFC_GPU_OMP_THREADS:-$cores}
# CMake 4 (pip's cmake may be one) refuses projects that ask for a CMake older than 3.5.
export CMAKE_POLICY_VERSION_MINIMUM=3.5
# GCC 13 and later no longer include <cstdint> through other standard headers, and Kokkos 3.4.1
# relies on that (core/src/impl/Kokkos_MemoryPool.cpp; kokkos/kokkos#7157): every translation
# unit gets it first (nvcc_wrapper hands -include to nvcc, which pre-includes it in every pass).
cxx_flags="-include cstdint"

start=$SECONDS
deps=$work/deps                    # the kit's Debian packages, unpacked
kokkos_src=$work/kokkos
kokkos_prefix=$work/kokkos-install
build=$work/build
say() { echo "gpu-run: $*"; }
left() { echo $((budget - (SECONDS - start))); }
# cap N: the seconds a step may take, N at most, keeping `reserve` seconds for the summary.
reserve=25
cap() {  # never 0 or less: `timeout 0` would mean no limit at all
  local l=$(($(left) - reserve))
  [ "$l" -lt 1 ] && l=1
  [ "$l" -lt "$1" ] && echo "$l" || echo "$1"
}

declare -A status
# phase NAME MIN_SECONDS FUNCTION: runs FUNCTION unless under MIN_SECONDS are left; records the
# outcome (ok, FAILED rc, skipped why) and the wall time.
phase() {
  local name=$1 need=$2 fn=$3 t0=$SECONDS rc
  if [ "$(cap 100000)" -lt "$need" ]; then
    status[$name]="skipped (out of time)"
  else
    say "---- $name (at $((SECONDS - start)) s, $(left) s left)"
    "$fn"
    rc=$?
    if [ "$rc" -eq 0 ]; then status[$name]=ok
    elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status[$name]="FAILED (time limit)"
    elif [ "$rc" -eq 200 ]; then status[$name]="skipped (${skip_reason:-an earlier phase failed})"
    else status[$name]="FAILED (exit $rc)"
    fi
  fi
  printf '%s\t%s\t%s\n' "$name" "${status[$name]}" "$((SECONDS - t0))" >>"$phases"
  say "$name: ${status[$name]} in $((SECONDS - t0)) s"
}
skip() { skip_reason=$1; return 200; }

# ---- phases -----------------------------------------------------------------------------------------

do_info() {
  export PATH="/usr/local/cuda/bin:$PATH"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv,noheader || true
  nvcc --version | tail -n 2 || true
  g++ --version | head -n 1 || true
  cmake --version | head -n 1 || true
  ninja --version 2>/dev/null | sed 's/^/ninja /' || true
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())' || true
  echo "cores: $cores; OMP_NUM_THREADS=$OMP_NUM_THREADS; $(grep MemTotal /proc/meminfo); $(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")"
  command -v nvcc >/dev/null && command -v cmake >/dev/null && command -v g++ >/dev/null
}

do_kit() {
  [ -d "$kit" ] || { say "no $kit: run scripts/gpu-prepare.sh here and carry gpu-kit"; return 1; }
  cat "$kit/MANIFEST" 2>/dev/null
  rm -rf "$deps" "$kokkos_src"
  mkdir -p "$deps"
  local deb
  for deb in "$kit"/debs/*.deb; do
    if command -v dpkg >/dev/null; then
      dpkg -x "$deb" "$deps" || return 1
    else  # a .deb is an ar archive; its files are in data.tar.*
      (cd "$work" && rm -f data.tar.* && ar x "$deb" "$(ar t "$deb" | grep '^data\.tar')" && tar -xf data.tar.* -C "$deps" \
        && rm -f data.tar.*) || return 1
    fi
  done
  tar -xzf "$kit"/kokkos-*.tar.gz -C "$work" || return 1
  [ -f "$kokkos_src/CMakeLists.txt" ]
}

do_torch() {
  local t
  rm -f "$work"/torch_*.json
  t=$(cap 120)
  # float32 (what wfc computes) with nanoGPT-style sampling; then nanoGPT's default bf16 autocast.
  PYTHONUNBUFFERED=1 timeout -k 5 "$t" python3 "$root/benchmarks/pytorch_gpt.py" --layers 6 --heads 6 --width 384 \
    --block 256 --batch 64 --vocab 65 --iters 10 --warmup 3 --out "$work/torch_fp32.json" || return $?
  t=$(cap 60)
  PYTHONUNBUFFERED=1 timeout -k 5 "$t" python3 "$root/benchmarks/pytorch_gpt.py" --layers 6 --heads 6 --width 384 \
    --block 256 --batch 64 --vocab 65 --iters 10 --warmup 3 --sample-tokens 0 --dtype bfloat16 --tf32 \
    --out "$work/torch_bf16.json" || say "the bf16 run failed (the float32 one stands)"
  python3 - "$work/torch_fp32.json" "$work/torch_bf16.json" "$out/pytorch_gpt.json" <<'EOF'
import json, os, sys
doc = {}
for key, path in (("float32", sys.argv[1]), ("bfloat16_autocast_tf32", sys.argv[2])):
    if os.path.exists(path):
        with open(path) as f:
            doc[key] = json.load(f)
with open(sys.argv[3], "w") as f:
    json.dump(doc, f, indent=2)
EOF
}

generator=()
build_tool() {  # ninja when there is one (CMake's pip package has none; the image has ninja), else make
  if command -v ninja >/dev/null; then generator=(-G Ninja); else generator=(-G "Unix Makefiles"); fi
}

do_kokkos() {
  [ -f "$kokkos_src/CMakeLists.txt" ] || skip "no Kokkos source"
  export PATH="/usr/local/cuda/bin:$PATH"  # nvcc_wrapper runs the nvcc on the PATH
  build_tool
  rm -rf "$work/kokkos-build" "$kokkos_prefix"
  timeout -k 5 "$(cap 60)" cmake -S "$kokkos_src" -B "$work/kokkos-build" "${generator[@]}" \
    -DCMAKE_CXX_COMPILER="$kokkos_src/bin/nvcc_wrapper" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 \
    -DCMAKE_CXX_FLAGS="$cxx_flags" -DCMAKE_CXX_EXTENSIONS=OFF -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON \
    -DKokkos_ARCH_HOPPER90=ON -DCMAKE_INSTALL_PREFIX="$kokkos_prefix" >"$work/kokkos-configure.log" 2>&1 \
    || { tail -n 40 "$work/kokkos-configure.log"; return 1; }
  timeout -k 5 "$(cap 300)" cmake --build "$work/kokkos-build" -j"$jobs" >"$work/kokkos-build.log" 2>&1 \
    || { tail -n 60 "$work/kokkos-build.log"; return 1; }
  cmake --install "$work/kokkos-build" >/dev/null || return 1
  # The installed config names the compiler it was built with, in the source tree: name the installed copy.
  find "$kokkos_prefix" -name KokkosConfigCommon.cmake -exec sed -i "s#$kokkos_src/bin/#$kokkos_prefix/bin/#g" {} +
  grep -ho 'arch=sm_[0-9]*' "$kokkos_prefix"/lib*/cmake/Kokkos/KokkosTargets.cmake | sort -u
}

do_build() {
  [ -x "$kokkos_prefix/bin/nvcc_wrapper" ] || skip "no Kokkos install"
  export PATH="/usr/local/cuda/bin:$PATH"
  build_tool
  # Each package of the kit by its CMake config directory, so that the image's own copies (if any)
  # do not mix in.
  local dirs=() f name
  while IFS= read -r f; do
    name=$(basename "$f")
    name=${name%Config.cmake}
    name=${name%-config.cmake}
    dirs+=("-D${name}_DIR=$(dirname "$f")")
  done < <(find "$deps" \( -name '*Config.cmake' -o -name '*-config.cmake' \) \
             \( -path '*/cmake/*' \) ! -name '*Version*' ! -name '*version*')
  say "packages from the kit: ${dirs[*]}"
  local common=(-S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release
    -DCMAKE_CXX_COMPILER="$kokkos_prefix/bin/nvcc_wrapper" -DCMAKE_CXX_FLAGS="$cxx_flags" -DKokkos_ROOT="$kokkos_prefix"
    "${dirs[@]}"
    -DWFC_ENABLE_KOKKOS=ON -DWFC_BUILD_TESTS=ON -DWFC_BUILD_BENCHMARKS=ON -DWFC_BUILD_EXAMPLES=OFF
    -DWFC_BUILD_TOOLS=OFF -DWFC_FUZZ_TESTS=OFF)
  rm -rf "$build"
  cpu_backend=ON
  if ! timeout -k 5 "$(cap 90)" cmake "${common[@]}" -DWFC_ENABLE_CPU=ON >"$work/configure.log" 2>&1; then
    tail -n 30 "$work/configure.log"
    say "the CPU backend does not configure here: Kokkos only (no CPU-vs-GPU ratios)"
    cpu_backend=OFF
    rm -rf "$build"
    timeout -k 5 "$(cap 90)" cmake "${common[@]}" -DWFC_ENABLE_CPU=OFF >"$work/configure.log" 2>&1 \
      || { tail -n 40 "$work/configure.log"; return 1; }
  fi
  grep -E 'wfc [0-9.]+: |Enabled Kokkos devices' "$work/configure.log"
  say "CPU backend $cpu_backend"
  # -k 0 / -k: every target that can be built is, whatever fails beside it.
  local keep_going=(-k 0)
  [ "${generator[1]}" = Ninja ] || keep_going=(-k)
  local rc=0
  timeout -k 5 "$(cap 420)" cmake --build "$build" -j"$jobs" \
    --target bench_model bench_gemm bench_rowwise bench_elementwise wfc_tests -- "${keep_going[@]}" \
    >"$work/build.log" 2>&1 || rc=$?
  grep -E 'error|Error' "$work/build.log" | grep -v -- '-Werror' | head -n 40
  tail -n 5 "$work/build.log"
  ls -la "$build"/benchmarks/bench_* "$build"/tests/wfc_tests 2>/dev/null
  return $rc
}

# bench_model in separate runs, so that a time limit in one keeps the others' results (Google
# Benchmark writes its JSON at the end); each run's JSON goes to $work/bench_model_<part>.json and
# all of them, merged, to $out/bench_model.json.
model_run() {  # model_run PART FILTER
  rm -f "$work/bench_model_$1.json"
  [ "$(cap 100000)" -ge 10 ] || { say "no time left for bench_model $2"; return 124; }
  WFC_BENCH_GPU_SHAPE=1 timeout -k 5 "$(cap 240)" "$build/benchmarks/bench_model" --benchmark_filter="$2" \
    --benchmark_min_time=0.2 --benchmark_out="$work/bench_model_$1.json" --benchmark_out_format=json
}

model_merge() {  # one document, as report.py reads it: the first run's context, every run's benchmarks
  python3 - "$out/bench_model.json" "$work"/bench_model_*.json <<'EOF2'
import json, sys
doc = None
for path in sys.argv[2:]:
    try:
        with open(path) as f:
            part = json.load(f)
    except (OSError, ValueError):
        print(f"gpu-run: {path} is missing or cut short (a time limit?), left out", file=sys.stderr)
        continue
    if doc is None:
        doc = part
    else:
        doc["benchmarks"] += part.get("benchmarks", [])
if doc is not None:
    with open(sys.argv[1], "w") as f:
        json.dump(doc, f, indent=2)
EOF2
}

# nanoGPT's GPU shape on the GPU, then the CPU shape (4 layers, d 128) on both backends.
do_model() {
  [ -x "$build/benchmarks/bench_model" ] || skip "bench_model was not built"
  rm -f "$work"/bench_model_*.json
  local rc=0
  model_run 1 '^gpu_shape_.*/kokkos/' || rc=$?
  model_run 2 '^(train_iteration|sample_cached|sample_recompute)/' || rc=$?
  model_merge
  return $rc
}

# nanoGPT's GPU shape on the CPU backend (seconds per training iteration): last, as the least needed.
do_model_cpu() {
  [ -x "$build/benchmarks/bench_model" ] || skip "bench_model was not built"
  local rc=0
  model_run 3 '^gpu_shape_.*/cpu/' || rc=$?
  model_merge
  return $rc
}

do_tests() {
  [ -x "$build/tests/wfc_tests" ] || skip "wfc_tests was not built"
  local rc=0
  # Each test case's time as it ends: after a time limit the log still says how far it got.
  timeout -k 5 "$(cap 150)" "$build/tests/wfc_tests" --durations yes >"$work/tests.log" 2>&1 || rc=$?
  head -c 4000000 "$work/tests.log" >"$out/wfc_tests.log"
  grep -B 3 -A 12 'FAILED' "$work/tests.log" | head -n 150
  tail -n 6 "$work/tests.log"
  return $rc
}

do_kernels() {
  local name rc=0 any=0
  for name in bench_gemm bench_rowwise bench_elementwise; do
    [ -x "$build/benchmarks/$name" ] || { say "$name was not built"; rc=1; continue; }
    any=1
    [ "$(cap 100000)" -ge 15 ] || { say "no time left for $name"; rc=124; break; }
    # cpu and kokkos only: the reference loops are the CPU's baseline, not the GPU's.
    rm -f "$work/$name.json"
    timeout -k 5 "$(cap 100)" "$build/benchmarks/$name" --benchmark_filter=-/reference \
      --benchmark_min_time="$min_time" --benchmark_out="$work/$name.json" --benchmark_out_format=json \
      >"$work/$name.txt" 2>&1 || { rc=$?; tail -n 20 "$work/$name.txt"; }
    # Only a whole document comes back (a time limit cuts the JSON short).
    if python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$work/$name.json" 2>/dev/null; then
      cp "$work/$name.json" "$out/$name.json"
    else
      say "$name: no complete JSON"
    fi
  done
  [ "$any" -eq 1 ] || skip "no kernel benchmark was built"
  return $rc
}

do_summary() {
  timeout -k 5 60 python3 "$root/scripts/gpu-summary.py" --phases "$phases" --out "$out/summary.md" "$out" \
    && cat "$out/summary.md"
}

say "start $(date -u +%Y-%m-%dT%H:%M:%SZ): budget $budget s, $jobs jobs, phases: $only, output in $out"
wanted() { case " $only " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for spec in info:5 kit:5 torch:40 kokkos:60 build:60 model:30 tests:20 kernels:20 model_cpu:20 summary:5; do
  name=${spec%%:*}
  [ "$name" = summary ] && reserve=0
  if wanted "$name"; then phase "$name" "${spec#*:}" "do_$name"; fi
done
say "done in $((SECONDS - start)) s"
exec >&- 2>&-  # tee sees the end of its input, writes the rest of the log and exits
wait "$tee_pid" 2>/dev/null
exit 0
