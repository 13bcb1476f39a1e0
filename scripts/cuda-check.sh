#!/usr/bin/env bash
# CUDA compile check of the Kokkos backend: every test and benchmark compiled and linked for an
# NVIDIA GPU (nothing is run; no GPU is needed). Skipped, with a message, when there is no nvcc.
#
# Debian has no CUDA-enabled Kokkos, so this builds one: Kokkos 3.4.1 from Debian's own trilinos
# source package (only its packages/kokkos), patched for CUDA 13 (scripts/kokkos-cuda13.patch;
# scripts/kokkos-source.sh fetches and patches it),
# with Kokkos_ENABLE_CUDA for Ampere (sm_80). The install is cached in
#   ${WFC_CUDA_CACHE:-~/.cache/wfc-cuda}/kokkos-3.4.1-cuda<version>
# so later runs on the same machine only rebuild the project (build-cuda/, incremental).
# The system's apt configuration is left alone: apt reads a private sources list and lists.
#
# Environment: WFC_CUDA_CACHE (cache directory), WFC_CUDA_JOBS (parallel jobs, default nproc).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

# ---- nvcc ----------------------------------------------------------------------------------------
if command -v nvcc >/dev/null 2>&1; then
  nvcc=$(command -v nvcc)
elif [ -x /usr/local/cuda/bin/nvcc ]; then
  nvcc=/usr/local/cuda/bin/nvcc
else
  echo "cuda-check: skipped: no nvcc on the PATH or in /usr/local/cuda/bin (install the CUDA toolkit to run it)"
  exit 0
fi
export PATH="$(dirname "$nvcc"):$PATH"  # nvcc_wrapper runs the `nvcc` on the PATH
cuda_version=$(nvcc --version | sed -n 's/.*release \([0-9][0-9.]*\),.*/\1/p')
jobs=${WFC_CUDA_JOBS:-$(nproc)}

wfc_log_prefix=cuda-check
. "$root/scripts/kokkos-source.sh"  # wfc_kokkos_source, wfc_kokkos_version, wfc_kokkos_patch
kokkos_version=$wfc_kokkos_version
patch_file=$wfc_kokkos_patch
cache=${WFC_CUDA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/wfc-cuda}
prefix=$cache/kokkos-$kokkos_version-cuda$cuda_version
build=$root/build-cuda
# What the cached install was built from: a changed patch or option list rebuilds it.
kokkos_options=(-DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_STANDARD=17 -DCMAKE_CXX_EXTENSIONS=OFF
  -DKokkos_ENABLE_SERIAL=ON -DKokkos_ENABLE_CUDA=ON -DKokkos_ENABLE_CUDA_LAMBDA=ON -DKokkos_ARCH_AMPERE80=ON)
stamp="$(sha256sum "$patch_file" | cut -d' ' -f1) ${kokkos_options[*]}"

start=$SECONDS
phase_start=$SECONDS
phase() {  # phase NAME: prints the time of the phase that just ended
  echo "cuda-check: $1: $((SECONDS - phase_start)) s"
  phase_start=$SECONDS
}

mkdir -p "$cache"
exec 9>"$cache/lock"
flock 9  # one run at a time builds the cache

# ---- Kokkos with CUDA, unless cached ------------------------------------------------------------
if [ -f "$prefix/wfc-stamp" ] && [ "$(cat "$prefix/wfc-stamp")" = "$stamp" ]; then
  echo "cuda-check: Kokkos $kokkos_version for CUDA $cuda_version cached in $prefix"
else
  echo "cuda-check: building Kokkos $kokkos_version for CUDA $cuda_version into $prefix"
  work=$(mktemp -d "$cache/work.XXXXXX")
  trap 'rm -rf "$work"' EXIT

  wfc_kokkos_source "$work"  # scripts/kokkos-source.sh: download, extract, check, patch

  rm -rf "$prefix"
  cmake -S "$work/kokkos" -B "$work/build" -DCMAKE_CXX_COMPILER="$work/kokkos/bin/nvcc_wrapper" \
    "${kokkos_options[@]}" -DCMAKE_INSTALL_PREFIX="$prefix" >"$work/configure.log" \
    || { cat "$work/configure.log"; exit 1; }
  cmake --build "$work/build" -j"$jobs" >"$work/build.log" 2>&1 || { tail -n 60 "$work/build.log"; exit 1; }
  cmake --install "$work/build" >/dev/null
  # The installed config names the compiler it was built with, in $work: name the installed copy.
  find "$prefix" -name KokkosConfigCommon.cmake -exec sed -i "s#$work/kokkos/bin/#$prefix/bin/#g" {} +
  printf '%s\n' "$stamp" >"$prefix/wfc-stamp"  # written last: a half-built install is never used
  rm -rf "$work"
  trap - EXIT
  phase "build and install Kokkos"
fi

# ---- the project: every test and benchmark, compiled and linked against it -----------------------
# The CPU backend stays off (Eigen/xsimd/OpenMP are a host compiler's business); the tests and
# benchmarks then cover the reference and Kokkos backends, the latter on Kokkos::Cuda. Debug
# without -g: the host half is compiled unoptimised (a third less time; it only has to compile),
# the device half as always (nvcc optimises device code whatever the host flags).
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG= \
  -DCMAKE_CXX_COMPILER="$prefix/bin/nvcc_wrapper" -DCMAKE_CXX_STANDARD=17 -DKokkos_ROOT="$prefix" \
  -DWFC_ENABLE_KOKKOS=ON -DWFC_ENABLE_CPU=OFF -DWFC_BUILD_TESTS=ON -DWFC_BUILD_BENCHMARKS=ON \
  -DWFC_BUILD_EXAMPLES=OFF -DWFC_BUILD_TOOLS=OFF -DWFC_FUZZ_TESTS=OFF >/dev/null
phase "configure build-cuda"
cmake --build "$build" -j"$jobs"
phase "build the tests and benchmarks with nvcc"
echo "cuda-check: passed in $((SECONDS - start)) s (compile and link only; nothing ran on a GPU)"
