#!/usr/bin/env bash
# Issue 18, levers 1 and 2 on a GPU machine: `flow eval` at 50 % on the core the project
# recommends (G = 1, standard masks), calibration sets 0, 1, 2, SparseGPT and Wanda, of
#   uniform (2:4, 4:8)  vs  measured-cost per block  vs  measured-cost per sublayer,
# each without and with input-channel permutation (--permute $PERMUTE; uniform + permutation is
# a baseline of its own). One eval folder per (variant, pruner): runs.json holds every run (one
# JSON record per seed x method, with its selection, per-layer patterns, perplexity, latency);
# the sublayer selections record split_vs_measured (Spearman of the split cost model against
# the measured sublayer costs). At the end scripts/lever_summary.py writes OUT/summary.{md,json}
# (mean +- std per variant, paired gaps to uniform 4:8 and to measured per block).
# Resumable like scripts/probe_study.sh (finished runs are kept in each runs.json).
# Usage: [JOBS=n] [PYTHON=...] [PERMUTE=lsa|balanced] [VARIANTS="block sublayer block+perm
#   sublayer+perm"] scripts/lever_study.sh OUT [flow options, e.g. --device cuda --model X
#   --text Y]. VARIANTS may also name sublayer-split (per-sublayer selection from the split cost
#   model: block probes only), to compare its perplexity with measured sublayer costs.
set -euo pipefail
out=${1:?usage: $0 OUT [flow options]}
shift
py=${PYTHON:-.venv/bin/python}
jobs=${JOBS:-1}
permute=${PERMUTE:-lsa}
read -r -a variants <<<"${VARIANTS:-block sublayer block+perm sublayer+perm}"
mkdir -p "$out"
for variant in "${variants[@]}"; do
  case "$variant" in
    block) opts=(--granularity block --permute none) ;;
    sublayer) opts=(--granularity sublayer --permute none) ;;
    block+perm) opts=(--granularity block --permute "$permute") ;;
    sublayer+perm) opts=(--granularity sublayer --permute "$permute") ;;
    sublayer-split) opts=(--granularity sublayer --sublayer-cost split --permute none) ;;
    *)
      echo "unknown variant $variant (block, sublayer, block+perm, sublayer+perm," \
        "sublayer-split)" >&2
      exit 2
      ;;
  esac
  for metric in sparsegpt wanda; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    name="$variant-$metric"
    (
      "$py" -m flow eval --out "$out/$name" --cost-cache "$out/cache" \
        --metrics "$metric" --methods uniform,measured --hw-config paper_g1 \
        --latency-config paper_g1 --masks standard --target 0.5 --seeds 3 --first-seed 0 \
        "${opts[@]}" "$@" >"$out/$name.log" 2>&1 \
        && echo "done $name" || echo "FAILED $name (see $out/$name.log)"
    ) &
  done
done
wait
"$py" scripts/lever_summary.py "$out"
