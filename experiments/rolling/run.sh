#!/usr/bin/env bash
# Issue 19's runs: WFC trained for a fixed point and for warm starts, each configuration a
# `wfc train --config` file in this folder, at the GPT baseline's size (4 layers, 4 heads, d = 128,
# rotary, F = 4, 2000 iterations of 12 × 64). Trains what has no finished checkpoint (resuming an
# interrupted run), then writes `wfc eval --json` of each checkpoint unless OUT_DIR has it already
# (delete NAME.eval.json to measure again). Logs, metrics and results go to OUT_DIR (docs/rolling in
# the repository, which keeps them but not the checkpoints). EVAL_BATCHES: evaluation batches (20).
#
#   experiments/rolling/run.sh DATA [OUT_DIR] [BUILD_DIR] [NAME ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
data=${1:?usage: $0 DATA [OUT_DIR] [BUILD_DIR] [NAME ...]}
out=${2:-docs/rolling}
build=${3:-build}
shift $(( $# < 3 ? $# : 3 ))
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for f in "$here"/*.json; do names+=("$(basename "$f" .json)"); done
fi
wfc=$build/tools/wfc/wfc
mkdir -p "$out"
for name in "${names[@]}"; do
  config=$here/$name.json
  [ -f "$config" ] || { echo "no configuration $config" >&2; exit 1; }
  ckpt=$out/$name.safetensors
  if [ ! -f "$out/$name.done" ]; then
    if [ -f "$ckpt" ]; then
      "$wfc" train "$data" --resume "$ckpt" --out "$ckpt" --metrics "$out/$name.csv" >> "$out/$name.log"
    else
      "$wfc" train "$data" --config "$config" --out "$ckpt" --metrics "$out/$name.csv" > "$out/$name.log"
    fi
    touch "$out/$name.done"
  fi
  if [ ! -s "$out/$name.eval.json" ]; then
    "$wfc" eval "$ckpt" "$data" --json --batches "${EVAL_BATCHES:-20}" > "$out/$name.eval.json.part"
    mv "$out/$name.eval.json.part" "$out/$name.eval.json"
  fi
  echo "$name: $(cat "$out/$name.eval.json")"
done
