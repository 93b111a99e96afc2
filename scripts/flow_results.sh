#!/usr/bin/env bash
# The measured-cost selection study of docs/FLOW_RESULTS.md: `flow eval` at 50 %, 62.5 % and
# 75 % mean sparsity, Wanda and SparseGPT, 3 disjoint calibration sets each, and pair-shared
# masks at 50 %. Resumable: each eval keeps its runs in OUT/<study>-<pruner>/runs.json and the
# cost tables in OUT/cache; OUT/<study>/results.md merges both pruners.
# Usage: [JOBS=n] [PYTHON=...] scripts/flow_results.sh OUT [extra flow options...]
#   JOBS (default 1): evals run at once (one per pruner and study; use >1 only on a GPU or with
#   idle cores to spare).
set -euo pipefail
out=${1:?usage: $0 OUT [flow options]}
shift
py=${PYTHON:-.venv/bin/python}
jobs=${JOBS:-1}
studies=(
  "t50|--target 0.5 --methods uniform,owl,flow,measured"
  "t62|--target 0.625 --methods uniform,owl,measured"
  "t75|--target 0.75 --methods uniform,owl,measured"
  "t50-pair-shared|--target 0.5 --masks pair-shared --methods uniform,measured"
)
eval_one() {  # study-name pruner options...
  local name=$1 metric=$2
  shift 2
  "$py" -m flow eval --out "$out/$name-$metric" --cost-cache "$out/cache" --metrics "$metric" "$@" \
    >"$out/$name-$metric.log" 2>&1 && echo "done $name-$metric" || echo "FAILED $name-$metric (see $out/$name-$metric.log)"
}
mkdir -p "$out"
for study in "${studies[@]}"; do
  name=${study%%|*}
  read -r -a opts <<<"${study#*|}"
  for metric in wanda sparsegpt; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    eval_one "$name" "$metric" "${opts[@]}" "$@" &
  done
done
wait
for study in "${studies[@]}"; do  # merged report of both pruners (no new runs)
  name=${study%%|*}
  read -r -a opts <<<"${study#*|}"
  "$py" -m flow eval --out "$out/$name" --cost-cache "$out/cache" --metrics wanda,sparsegpt \
    --merge "$out/$name-wanda" "$out/$name-sparsegpt" "${opts[@]}" "$@" >"$out/$name.log" 2>&1 \
    || echo "FAILED report $name (see $out/$name.log)"
done
grep -h -A3 "Paired gap" "$out"/t*/results.md 2>/dev/null || true
