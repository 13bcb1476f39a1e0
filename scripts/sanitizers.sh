#!/usr/bin/env bash
# The whole test suite under AddressSanitizer + UndefinedBehaviorSanitizer (the "asan" preset in
# CMakePresets.json: build-asan/, -O1, assertions on, leak checking on). Any sanitizer report fails
# the test that raised it. Takes a while: everything is rebuilt instrumented.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake --preset asan
cmake --build --preset asan -j"$(nproc)"
ctest --preset asan -j"$(nproc)"
