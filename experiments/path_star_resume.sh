#!/usr/bin/env bash
# A path-star curve run stopped midway (--stop-at) and resumed gives the uninterrupted run's
# curve: every row equal but the wall seconds. Usage: path_star_resume.sh PATH_STAR WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work"
# wfc-answer: every block on the answer; *-mixed: graphs of 1 or 2 arms. A resume must restore both.
for run in gpt wfc wfc-answer gpt-mixed wfc-mixed; do
  model=${run%%-*}
  extra=()
  [ "$run" = wfc-answer ] && extra=(--answer-every 1)
  [ "${run#*-}" = mixed ] && extra=(--min-arms 1)
  args=(--model "$model" "${extra[@]}" --arms 2 --layers 1 --heads 2 --width 16 --iterations 6 --batch 4 --warmup 1 --eval-interval 2
        --test-graphs 8 --threads 1)
  "$bin" "${args[@]}" --out "$work/$run-whole" 2>/dev/null
  "$bin" "${args[@]}" --out "$work/$run-parts" --stop-at 3 2>/dev/null
  "$bin" --resume --out "$work/$run-parts" --threads 1 2>/dev/null
  # drop the seconds (column 4)
  whole=$(cut -d, -f1-3,5- "$work/$run-whole/curve.csv")
  parts=$(cut -d, -f1-3,5- "$work/$run-parts/curve.csv")
  rows=$(($(wc -l < "$work/$run-whole/curve.csv") - 1))
  expected=$([ "$model" = gpt ] && echo 3 || echo 15)  # 3 evaluations × (1 or 5 policies)
  [ "$rows" -eq "$expected" ] || { echo "FAIL: $run: $rows rows, expected $expected"; exit 1; }
  [ "$whole" = "$parts" ] || { echo "FAIL: $run: the resumed curve differs"; diff <(echo "$whole") <(echo "$parts"); exit 1; }
  echo "$run: $rows rows, the resumed run's curve equals the uninterrupted one's"
done
# the flag changes the run (else the resume check above could not tell whether it was restored)
[ "$(cut -d, -f5 "$work/wfc-whole/curve.csv")" != "$(cut -d, -f5 "$work/wfc-answer-whole/curve.csv")" ] ||
  { echo "FAIL: --answer-every 1 trained exactly as the default"; exit 1; }
for model in gpt wfc; do
  [ "$(cut -d, -f5 "$work/$model-whole/curve.csv")" != "$(cut -d, -f5 "$work/$model-mixed-whole/curve.csv")" ] ||
    { echo "FAIL: $model: --min-arms 1 trained exactly as the default"; exit 1; }
done
