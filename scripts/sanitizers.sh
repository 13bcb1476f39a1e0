#!/usr/bin/env bash
# The test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the "asan" preset in
# CMakePresets.json: build-asan/, -O1, assertions on, leak checking on). Any sanitizer report fails
# the test that raised it. Takes a while: everything is rebuilt instrumented (the preset says which
# UBSan checks and which tests are left out to fit CI's time, and why).
set -euo pipefail
cd "$(dirname "$0")/.."
# WFC_COMPILER_LAUNCHER (e.g. ccache) wraps the compiler, as CI does.
cmake --preset asan ${WFC_COMPILER_LAUNCHER:+-DCMAKE_CXX_COMPILER_LAUNCHER="$WFC_COMPILER_LAUNCHER"}
cmake --build --preset asan -j"$(nproc)"
ctest --preset asan -j"$(nproc)"
