#!/usr/bin/env bash
# The issue-4 study: WFC at the GPT baseline's size for F ∈ {1, 4, 8} × K ∈ {1, 2, 4}, each beside the
# GPT at equal iterations and at equal training FLOPs. Writes one log per run and a Markdown table.
#
#   experiments/future_steps_table.sh DATA [OUT_DIR] [BUILD_DIR]
#
# Every run uses rotary positions (a slot then knows its distance to the past whatever the block
# offset) and the examples' defaults (4 layers, 4 heads, d = 128, block 64, batch 12, 2000
# iterations, 20 evaluation batches). About an hour on 2 cores.
set -euo pipefail
data=${1:?usage: $0 DATA [OUT_DIR] [BUILD_DIR]}
out=${2:-future_steps_results}
build=${3:-build}
mkdir -p "$out"
gpt() { "$build/examples/train_gpt" "$data" --positions rotary "$@"; }
wfc() { "$build/examples/train_wfc" "$data" --positions rotary "$@"; }

# Forward FLOPs per token (training is 3×): a block's linear layers 24·d², attention 4·keys·d, the
# tied head 2·V·d. The GPT: L blocks over T keys and a head. WFC: the clean stream (no head) and K
# steps whose slots see 2T keys (the clean past and their own stream), each with a head.
d=128 T=64 V=65 L=4
gpt_flops=$(( L * (24*d*d + 4*T*d) + 2*V*d ))
wfc_flops() { echo $(( L * (24*d*d + 4*T*d) + $1 * (L * (24*d*d + 8*T*d) + 2*V*d) )); }

field() { sed -n "s/.*$2 \([0-9.]*\).*/\1/p" "$1" | tail -1; }

[ -s "$out/gpt.log" ] || gpt > "$out/gpt.log"
for K in 1 2 4; do
  iters=$(( 2000 * $(wfc_flops $K) / gpt_flops ))
  [ -s "$out/gpt_K$K.log" ] || gpt --iterations $iters > "$out/gpt_K$K.log"
  for F in 1 4 8; do
    [ -s "$out/wfc_F${F}_K$K.log" ] || wfc --future $F --steps $K > "$out/wfc_F${F}_K$K.log"
  done
done

{
  echo "| F | K | first slot | chain (warm) | chain (cold) | per offset | ms/iter | GPT, equal iterations | GPT, equal FLOPs (iterations) |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for F in 1 4 8; do for K in 1 2 4; do
    f="$out/wfc_F${F}_K$K.log"
    first=$(sed -n 's/.*first slot \([0-9.]*\).*/\1/p' "$f")
    warm=$(sed -n 's/^chain NLL (first-future.*: \([0-9.]*\)$/\1/p' "$f")
    cold=$(sed -n 's/^chain NLL with a cold.*: \([0-9.]*\)$/\1/p' "$f")
    offsets=$(sed -n 's/^per offset: //p' "$f")
    ms=$(sed -n 's/.*; \([0-9.]*\) ms\/iter;.*/\1/p' "$f")
    g="$out/gpt_K$K.log"
    echo "| $F | $K | $first | $warm | $cold | $offsets | $ms | $(field "$out/gpt.log" 'final val loss') | $(field "$g" 'final val loss') ($(( 2000 * $(wfc_flops $K) / gpt_flops ))) |"
  done; done
} > "$out/table.md"
cat "$out/table.md"
