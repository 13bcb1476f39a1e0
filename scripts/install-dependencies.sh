#!/usr/bin/env bash
# Installs wfc's build and test dependencies from Debian/Ubuntu packages (nothing else is fetched).
set -euo pipefail
packages=(
  g++ cmake make            # toolchain
  ccache                    # compiler cache (CI; optional for a user)
  libeigen3-dev             # CPU backend: GEMM
  libxsimd-dev xtl-dev      # CPU backend: SIMD kernels (xsimd's CMake target names xtl)
  libtrilinos-kokkos-dev    # Kokkos backend (Debian ships Kokkos inside Trilinos: Serial only)
  catch2                    # tests (2.x on Debian 12 / Ubuntu 22.04, 3.x on newer)
  libbenchmark-dev          # micro-benchmarks
  nlohmann-json3-dev        # checkpoints' JSON header, configuration files
  libcli11-dev              # example programs and the wfc program: command-line flags
  libopenmpi-dev openmpi-bin  # wfc::mpi, data-parallel training (optional for a user; its tests run under mpirun)
  clang libclang-rt-dev     # fuzz tests (libFuzzer)
  python3-numpy             # the checkpoint interop test (examples/read_checkpoint.py)
  python3-matplotlib        # the validation study's plots (experiments/report_study.py)
  python3                   # benchmark report script
)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
