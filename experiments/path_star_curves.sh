#!/usr/bin/env bash
# Path-star learning curves (issue 20, docs/path-star.md): the GPT and the WFC model at D = 2 and
# D = 5 (L = 5, N = 50), equal parameters and equal training graphs, each scored on 500 held-out
# graphs every --eval-interval iterations. A run whose folder exists is resumed, so this command
# continues where the last session stopped; then the curves are plotted.
#
#   experiments/path_star_curves.sh [OUT_DIR] [BUILD_DIR]       (OUT_DIR: docs/path-star)
#
# Environment: ITERATIONS (40000), EVAL (2000), THREADS (1 per run; the four runs go two at a time).
set -euo pipefail
out=${1:-docs/path-star}
build=${2:-build}
iterations=${ITERATIONS:-40000}
eval=${EVAL:-2000}
threads=${THREADS:-1}
bin="$build/experiments/path_star"
[ -x "$bin" ] || { echo "error: $bin not found: build first (cmake --build $build --target path_star)" >&2; exit 1; }
mkdir -p "$out"

run() {  # model D
  local dir="$out/$1-d$2"
  if [ -f "$dir/checkpoint.safetensors" ]; then
    "$bin" --resume --out "$dir" --threads "$threads" >> "$dir.log" 2>&1
  else
    "$bin" --model "$1" --arms "$2" --iterations "$iterations" --eval-interval "$eval" --test-graphs 500 --threads "$threads" \
      --out "$dir" > "$dir.log" 2>&1
  fi
}

for D in 5 2; do
  run gpt "$D" &
  run wfc "$D" &
  wait
done
python=/usr/bin/python3  # Debian's python3 has matplotlib; a python3 earlier on PATH may not
[ -x "$python" ] || python=python3
"$python" "$(dirname "$0")/path_star_plot.py" "$out"
