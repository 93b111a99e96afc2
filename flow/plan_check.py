"""Plan check (issue 18): a mixed N:M plan is kept only when it beats the uniform pattern on
calibration windows its costs never saw; otherwise the uniform pattern prunes the model.

Why. The measured-cost selection fits its plan to the probe windows (the first --probe-windows
calibration windows) and to costs measured one block at a time; at 50 % under Wanda with both
levers its plans lost to uniform 4:8 on every calibration set (docs/FLOW_RESULTS.md). A fixed
core can only run the uniform pattern, so a flexible core's plan is worth running only where it
beats that pattern. The check prunes the model both ways, each exactly as the final prune does
(pruner, masks, permutation, reconstruction), and compares next-token loss on the calibration
windows from --probe-windows on: tokens of the same calibration set, never probed, and disjoint
from the evaluation windows, which the check never looks at to decide. The evaluation
perplexity of both models is recorded beside the decision (a diagnostic for studies: it gives
the paired plan / uniform / checked result of one run).

Cost: two prunes instead of one, two loss passes over the check windows, and two copies of the
prunable weights while it runs (the dense ones, to prune again, and the plan's, to go back).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

import torch

from flow.evaluate import perplexity
from flow.models import LoadedModel
from flow.pipeline import (
    ExportCapture,
    PruneResult,
    Selection,
    prune_model,
    restore_weights,
    snapshot_weights,
)
from flow.prune import PrunePlan
from flow.reconstruct import ReconParams


@dataclass
class PlanCheck:
    """What the check compared and what it kept (goes into the JSON log)."""

    kept: str  # "plan" or "uniform"
    plan_method: str
    uniform: str  # the fallback's method name, e.g. "uniform 4:8"
    check_windows: list[int]  # [first, end) calibration window indices
    check_tokens: int  # predicted tokens the losses average over
    loss_plan: float  # mean next-token NLL on the check windows
    loss_uniform: float
    eval_perplexity: dict[str, float] | None  # {"plan", "uniform"}: recorded, never used to decide
    seconds: float

    def as_dict(self) -> dict:
        return asdict(self)


def check_windows(calib: torch.Tensor, probe_windows: int) -> torch.Tensor:
    """The calibration windows the measured costs never probed: from `probe_windows` on."""
    if not 0 <= probe_windows < calib.shape[0]:
        raise ValueError(
            f"the plan check needs calibration windows beyond the {probe_windows} probe "
            f"windows; there are {calib.shape[0]} (raise --nsamples or lower --probe-windows)"
        )
    return calib[probe_windows:]


def is_uniform(sel: Selection, pattern: tuple[int, int]) -> bool:
    """The selection prunes every block (and sublayer) to `pattern`."""
    if sel.sublayer_patterns is not None:
        return all(tuple(p) == pattern for b in sel.sublayer_patterns for p in b.values())
    return all(tuple(p) == pattern for p in sel.patterns)


def _prune_and_score(
    lm: LoadedModel,
    calib: torch.Tensor,
    batch: int,
    plan: PrunePlan,
    recon: ReconParams | None,
    held: torch.Tensor,
    capture: ExportCapture | None,
) -> tuple[PruneResult, float, ExportCapture | None]:
    own = None if capture is None else replace(capture, kept=[])
    result = prune_model(lm, calib, batch, plan, own, recon=recon)
    return result, math.log(perplexity(lm, held, batch)), own


def check_plan(
    lm: LoadedModel,
    calib: torch.Tensor,
    batch: int,
    sel: Selection,
    fallback: Selection,
    plan_of: Callable[[Selection], PrunePlan],
    recon: ReconParams | None,
    probe_windows: int,
    eval_ids: torch.Tensor | None = None,
    capture: ExportCapture | None = None,
) -> tuple[Selection, PruneResult, PlanCheck]:
    """Prune the model to `sel`, then (from the dense weights) to `fallback`; keep the one with
    the lower loss on the check windows (ties: the uniform pattern). The model is left pruned
    to the kept one, and `capture` (if any) holds the kept prune's export capture."""
    t0 = time.perf_counter()
    held = check_windows(calib, probe_windows)
    same = is_uniform(sel, tuple(fallback.patterns[0]))  # nothing to compare: prune once
    dense = None if same else snapshot_weights(lm)
    res_plan, loss_plan, cap_plan = _prune_and_score(
        lm, calib, batch, plan_of(sel), recon, held, capture
    )
    measure_eval = eval_ids is not None and eval_ids.shape[0] > 0
    ppl = {"plan": perplexity(lm, eval_ids, batch)} if measure_eval else None
    if dense is None:
        res_uni, loss_uni, cap_uni = res_plan, loss_plan, cap_plan
        if ppl is not None:
            ppl["uniform"] = ppl["plan"]
        keep_plan = True
    else:
        pruned_plan = snapshot_weights(lm)
        restore_weights(lm, dense)
        del dense
        res_uni, loss_uni, cap_uni = _prune_and_score(
            lm, calib, batch, plan_of(fallback), recon, held, capture
        )
        if ppl is not None:
            ppl["uniform"] = perplexity(lm, eval_ids, batch)
        keep_plan = loss_plan < loss_uni
        if keep_plan:
            restore_weights(lm, pruned_plan)
    kept_cap = cap_plan if keep_plan else cap_uni
    if capture is not None and kept_cap is not None:
        capture.kept[:] = kept_cap.kept
    record = PlanCheck(
        kept="plan" if keep_plan else "uniform",
        plan_method=sel.method,
        uniform=fallback.method,
        check_windows=[probe_windows, int(calib.shape[0])],
        check_tokens=int(held.shape[0] * (held.shape[1] - 1)),
        loss_plan=loss_plan,
        loss_uniform=loss_uni,
        eval_perplexity=ppl,
        seconds=time.perf_counter() - t0,
    )
    print(
        f"plan check on calibration windows [{probe_windows}, {calib.shape[0]}): loss "
        f"{sel.method} {loss_plan:.4f}, {fallback.method} {loss_uni:.4f}; "
        f"kept {sel.method if keep_plan else fallback.method}",
        flush=True,
    )
    return (sel, res_plan, record) if keep_plan else (fallback, res_uni, record)
