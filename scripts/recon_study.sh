#!/usr/bin/env bash
# Issue 18 lever 4 on 2 CPU cores: uniform 4:8 SparseGPT at 50 % on SmolLM2, each calibration
# set and evaluation window pruned with and without --reconstruct block (and, for the
# combination, with --permute balanced). One `flow prune` at a time behind /tmp/cpu.lock;
# resumable (a run whose JSON log exists is skipped). Summary: scripts/recon_summary.py OUT.
# Usage: scripts/recon_study.sh OUT [JOBS_FILE]
#   JOBS_FILE lines: NAME SET EVAL_START PERMUTE RECON [METHOD [METRIC [CORE]]]; METHOD uniform
#   (4:8, the default), measured (the measured-cost selection per block, cost table cached),
#   measured-cr (the same with --cost-recon block: costs measured after reconstruction) or
#   measured-pc (with --plan-check uniform: the plan kept only if it beats the uniform pattern
#   on unprobed calibration windows; its log holds both models' perplexities);
#   METRIC sparsegpt (default) or wanda; CORE paper_g1 (default: standard masks) or paper (G = C:
#   pair-shared masks, the ones that core runs at full speed).
#   FLOW_ARGS adds options to every run (e.g. "--device cuda --model X.gguf --text Y");
#   LOCK=none runs without /tmp/cpu.lock (a GPU machine running several job files at once);
#   TARGET (mean sparsity, default 0.5) and UNIFORM (the uniform pattern, default 4:8).
set -euo pipefail
OUT=${1:?usage: scripts/recon_study.sh OUT [JOBS_FILE]}
PYTHON=${PYTHON:-.venv/bin/python}
read -r -a flow_args <<< "${FLOW_ARGS:-}"
lock=(flock /tmp/cpu.lock)
[ "${LOCK:-}" = none ] && lock=()
mkdir -p "$OUT"
default_jobs() {
  # choosing: calibration sets 0-2 on the study's windows (eval-start 0.5)
  for s in 0 1 2; do
    echo "s$s-none $s 0.5 none none"; echo "s$s-block $s 0.5 none block"
  done
  # confirmation: calibration sets never used for choosing, two other evaluation windows
  echo "s3-w075-none 3 0.75 none none"; echo "s3-w075-block 3 0.75 none block"
  echo "s4-w085-none 4 0.85 none none"; echo "s4-w085-block 4 0.85 none block"
  # does the flexible selection still pay once both are reconstructed?
  for s in 0 1 2; do
    echo "s$s-measured-block $s 0.5 none block measured"; echo "s$s-measured-none $s 0.5 none none measured"
  done
  # combination with lever 2
  for s in 0 1 2; do
    echo "s$s-perm-none $s 0.5 balanced none"; echo "s$s-perm-block $s 0.5 balanced block"
  done
  # the combination on the held-out sets and windows
  echo "s3-w075-perm-block 3 0.75 balanced block"; echo "s4-w085-perm-block 4 0.85 balanced block"
}
jobs=$( [ $# -ge 2 ] && cat "$2" || default_jobs )
while read -r name set start perm recon method metric core; do
  [ -z "$name" ] && continue
  log=$OUT/prune-$name.json
  [ -s "$log" ] && { echo "skip $name (done)"; continue; }
  extra=()
  [ "$recon" = block ] && extra+=(--reconstruct block)
  [ "$perm" != none ] && extra+=(--permute "$perm")
  case ${method:-uniform} in
    uniform) extra+=(--method uniform --pattern "${UNIFORM:-4:8}") ;;
    measured) extra+=(--method measured) ;;
    measured-cr) extra+=(--method measured --cost-recon block) ;;
    measured-pc) extra+=(--method measured --plan-check uniform) ;;
    *) echo "$name: unknown method $method" >&2; exit 2 ;;
  esac
  case ${core:-paper_g1} in
    paper_g1) extra+=(--hw-config paper_g1 --mask standard) ;;
    paper) extra+=(--hw-config paper --mask pair-shared) ;;
    *) echo "$name: unknown core $core" >&2; exit 2 ;;
  esac
  echo "=== $name $(date -u +%T)"
  "${lock[@]}" "$PYTHON" -m flow prune --metric "${metric:-sparsegpt}" "${flow_args[@]}" \
    --target "${TARGET:-0.5}" --calib-set "$set" --eval-start "$start" "${extra[@]}" --log "$log.tmp" \
    > "$OUT/prune-$name.out" 2>&1
  mv "$log.tmp" "$log"
  grep perplexity "$OUT/prune-$name.out" | tail -1
done <<< "$jobs"
