#!/usr/bin/env bash
# A path-star curve run stopped midway (--stop-at) and resumed gives the uninterrupted run's
# curve: every row equal but the wall seconds. Usage: path_star_resume.sh PATH_STAR WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
for model in gpt wfc; do
  args=(--model "$model" --arms 2 --layers 1 --heads 2 --width 16 --iterations 6 --batch 4 --warmup 1 --eval-interval 2
        --test-graphs 8 --threads 1)
  "$bin" "${args[@]}" --out "$work/$model-whole" 2>/dev/null
  "$bin" "${args[@]}" --out "$work/$model-parts" --stop-at 3 2>/dev/null
  "$bin" --resume --out "$work/$model-parts" --threads 1 2>/dev/null
  # drop the seconds (column 4)
  whole=$(cut -d, -f1-3,5- "$work/$model-whole/curve.csv")
  parts=$(cut -d, -f1-3,5- "$work/$model-parts/curve.csv")
  rows=$(($(wc -l < "$work/$model-whole/curve.csv") - 1))
  expected=$([ "$model" = gpt ] && echo 3 || echo 15)  # 3 evaluations × (1 or 5 policies)
  [ "$rows" -eq "$expected" ] || { echo "FAIL: $model: $rows rows, expected $expected"; exit 1; }
  [ "$whole" = "$parts" ] || { echo "FAIL: $model: the resumed curve differs"; diff <(echo "$whole") <(echo "$parts"); exit 1; }
  echo "$model: $rows rows, the resumed run's curve equals the uninterrupted one's"
done
