#!/usr/bin/env bash
# How few probe tokens the measured-cost selection can use (issue 17, item 5): `flow eval` of
# the measured-cost selection at 50 % on the core the project recommends (G = 1, standard
# masks), 3 disjoint calibration sets, SparseGPT and Wanda, for several probe sets (windows x
# tokens); the 4 x 512 row is the reference every other row is compared with (plans, perplexity,
# rank correlation of the cost tables: python -m bench measured_cost --study OUT). Resumable like
# scripts/flow_results.sh. Usage: [JOBS=n] [PYTHON=...] [PROBES="16x512 ..."] [UNIFORM_AT=probe]
# scripts/probe_study.sh OUT [flow options]; UNIFORM_AT (default 4x512) is the probe set whose
# eval also runs the uniform baselines. Confirmation on held-out calibration sets and windows:
# PROBES=16x512 UNIFORM_AT=16x512 scripts/probe_study.sh OUT --first-seed 3 --eval-start 0.75
set -euo pipefail
out=${1:?usage: $0 OUT [flow options]}
shift
py=${PYTHON:-.venv/bin/python}
jobs=${JOBS:-1}
read -r -a probes <<<"${PROBES:-4x512 1x512 16x512 2x256 8x512 2x512 1x256}"
uniform_at=${UNIFORM_AT:-4x512}
mkdir -p "$out"
for probe in "${probes[@]}"; do
  for metric in sparsegpt wanda; do
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    methods=measured
    [ "$probe" = "$uniform_at" ] && methods=uniform,measured
    (
      "$py" -m flow eval --out "$out/p$probe-$metric" --cost-cache "$out/cache-$probe" \
        --metrics "$metric" --methods "$methods" --hw-config paper_g1 --latency-config paper_g1 \
        --masks standard --target 0.5 --seeds 3 --probe-windows "${probe%x*}" \
        --probe-seqlen "${probe#*x}" "$@" >"$out/p$probe-$metric.log" 2>&1 \
        && echo "done $probe $metric" || echo "FAILED $probe $metric (see $out/p$probe-$metric.log)"
    ) &
  done
done
wait
