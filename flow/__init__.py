"""FLOW: per-layer N:M selection (FLOW, OWL-style, measured cost), Wanda / SparseGPT / magnitude
N:M pruning, multi-seed evaluation, stimulus export.

Modules, one job each, imports pointing down: models (load OPT/LLaMA, find blocks), data
(calibration/evaluation windows), calibrate (block-by-block hooks), stats (O and D), select
(MILP), sparsegpt (OBS reconstruction), prune (masks via golden.masks), pipeline (the steps on
a loaded model), measured (measured-cost tables and their selection), latency (whole-model
cycles), evaluate (perplexity), export (stimulus file + cache key), report (tables, plots),
options (CLI options and checks), session (model + windows set-up, logs), methods (one
selection per method name), commands/* (one module per command), cli (`python -m flow`).
"""
