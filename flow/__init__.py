"""FLOW: per-layer N:M selection from outlier statistics, Wanda N:M pruning, stimulus export.

Modules, one job each: models (load OPT/LLaMA, find blocks), data (calibration/evaluation
windows), calibrate (block-by-block hooks), stats (O and D), select (MILP), prune (masks via
golden.masks), pipeline (the steps on a loaded model), evaluate (perplexity), export (stimulus
file + cache key), report (table, plot), experiment (`eval`), cli (`python -m flow`).
"""
