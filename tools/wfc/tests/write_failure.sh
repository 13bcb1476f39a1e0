#!/usr/bin/env bash
# A save that fails (a file-size limit stands in for a full disk: write() fails with EFBIG) stops
# the run with an error naming the file, the system's reason and the last good checkpoint; that
# checkpoint stays whole and loadable, and no temporary file is left. Arguments: the wfc program,
# the text, a scratch folder.
set -euo pipefail
wfc=$1 data=$2 work=$3
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAILED: $*"; exit 1; }

"$wfc" train "$data" --layers 1 --heads 2 --width 32 --block 32 --batch 4 --warmup 2 --eval-batches 2 --iterations 8 \
  --stop-at 4 --checkpoint-every 2 --out run.safetensors >/dev/null 2>&1
before=$(sha256sum run.safetensors)
size=$(stat -c %s run.safetensors)
# Ignored, SIGXFSZ would kill instead; the limit (KiB) is half the checkpoint.
status=0
(trap '' XFSZ; ulimit -f $((size / 2048)); exec "$wfc" train "$data" --resume run.safetensors) >out.log 2>&1 || status=$?
cat out.log | tr '\r' '\n' | tail -n 1
[ "$status" = 1 ] || fail "the failed save exited with $status, not 1"
grep -q "error: cannot write '[^']*run.safetensors.tmp.[0-9]*' (for 'run.safetensors'): File too large; the last good checkpoint is 'run.safetensors' (iteration 4)" out.log ||
  fail "the error does not name the file, the reason and the last good checkpoint"
[ "$(sha256sum run.safetensors)" = "$before" ] || fail "the previous checkpoint changed"
ls run.safetensors.tmp.* >/dev/null 2>&1 && fail "a temporary file was left: $(ls run.safetensors.tmp.*)"
"$wfc" info run.safetensors | grep -q "training: iteration 4 of 8" || fail "the previous checkpoint does not load"
"$wfc" train "$data" --resume run.safetensors 2>/dev/null | grep -q "done: val loss" || fail "the run does not resume from it"
echo "the failed save left run.safetensors (iteration 4) whole; it resumed to the end"
