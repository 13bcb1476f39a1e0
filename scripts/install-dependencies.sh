#!/usr/bin/env bash
# Installs wfc's build and test dependencies from Debian/Ubuntu packages (nothing else is fetched).
set -euo pipefail
packages=(
  g++ cmake make            # toolchain
  libeigen3-dev             # CPU backend: GEMM
  libxsimd-dev xtl-dev      # CPU backend: SIMD kernels (xsimd's CMake target names xtl)
  libtrilinos-kokkos-dev    # Kokkos backend (Debian ships Kokkos inside Trilinos: Serial only)
  catch2                    # tests (2.x on Debian 12 / Ubuntu 22.04, 3.x on newer)
  libbenchmark-dev          # micro-benchmarks
  libcli11-dev              # example programs: command-line flags
  python3                   # benchmark report script
)
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${packages[@]}"
