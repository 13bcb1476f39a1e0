#!/usr/bin/env bash
# The validation study in one command: runs build/experiments/validation_study, then writes the
# Markdown report and the plots next to its results.
#
#   experiments/run_study.sh --data path/to/tinyshakespeare.txt [--out DIR] [--build DIR]   the full study
#   experiments/run_study.sh --preset small [--out DIR]                                     the CI run
#
# Every other flag goes to validation_study (--parts, --threads; see its --help).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=study_results build="$here/../build" args=()
while [ $# -gt 0 ]; do
  case $1 in
    --out) out=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    *) args+=("$1"); shift ;;
  esac
done
study="$build/experiments/validation_study"
[ -x "$study" ] || { echo "error: $study is not built; run cmake --build $build first" >&2; exit 1; }
# Debian's python3 has matplotlib (python3-matplotlib); a python3 earlier on PATH may not.
python=/usr/bin/python3
[ -x "$python" ] || python=python3
mkdir -p "$out"
start=$(date +%s)
"$study" "${args[@]}" --out "$out/results.json"
"$python" "$here/report_study.py" "$out/results.json" "$out"
echo "the study took $(( $(date +%s) - start )) s"
