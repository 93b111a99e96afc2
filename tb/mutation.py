"""Mutation check: deliberate RTL bugs, each applied to a COPY of rtl/, must fail the regression.

`python -m tb.mutation [names...]` copies rtl/ into a temporary folder, applies one mutant
(an exact text substitution that must match exactly once, so a stale mutant is reported, not
silently skipped), runs the core regression against the copy (FLEXCIM_RTL_DIR, separate
FLEXCIM_SIM_BUILD) on a small config with a fixed seed, and reports caught/missed per mutant
with the first failing check's message (an RTL assertion first, when one fired); a mutant with
`by_assertion` counts as caught only when that assertion is the first check to fail.
rtl/ itself is never written.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from golden.cli import OneLineParser, checked_configs
from tb.common.runner import ROOT, RTL_DIR


@dataclass(frozen=True)
class Mutant:
    name: str
    file: str  # under rtl/
    old: str
    new: str
    why: str
    # The RTL assertion that must be the check catching it (None: any check may).
    by_assertion: str | None = None
    # The configuration it needs (None: the run's --config); a G mutant needs G < C.
    config: str | None = None


MUTANTS: tuple[Mutant, ...] = (
    Mutant(
        "cell_meta_polarity",
        "flexcim_cell.sv",
        "b_q ? pair_i[2*AB-1:AB] : pair_i[AB-1:0]",
        "b_q ? pair_i[AB-1:0] : pair_i[2*AB-1:AB]",
        "metadata bit b selects the wrong element of the pair",
    ),
    Mutant(
        "merge_drops_submacro",
        "flexcim_merge.sv",
        "= sums_i[(p*C + c)*SW +: SW];",
        "= (p == P-1) ? '0 : sums_i[(p*C + c)*SW +: SW];",
        "the merge tree ignores the last sub-macro",
    ),
    Mutant(
        "cycle_counter_off_by_one",
        "flexcim_ctrl.sv",
        "    end else if (start_ok) begin\n      cycles_q <= '0;",
        "    end else if (start_ok) begin\n      cycles_q <= 32'd1;",
        "CYCLES starts at 1 instead of 0 on start",
    ),
    Mutant(
        "distribution_set_index",
        "flexcim_distribution.sv",
        "set = PIDX >> nlog_i;",
        "set = QW'((PIDX >> nlog_i) + 1);",
        "a slot reads the pairs of the next set",
    ),
    Mutant(
        "stall_counter_ignores_backpressure",
        "flexcim_ctrl.sv",
        "(state_q == S_OUT && !y_ready_i)",
        "1'b0",
        "STALLS misses output back-pressure cycles",
    ),
    Mutant(
        "accumulate_never_clears",
        "flexcim_merge.sv",
        "= first_q ? ext : acc_old[c*ACC +: ACC] + ext;",
        "= acc_old[c*ACC +: ACC] + ext;",
        "the first pass adds to the previous job's accumulators",
    ),
    Mutant(
        "output_beat_moves_while_stalled",
        "flexcim_ctrl.sv",
        "if (y_fire) out_tok_d = out_tok_q + 1'b1;",
        "if (y_valid_o) out_tok_d = out_tok_q + 1'b1;",
        "the offered output beat advances without tready (AXI4-Stream stability)",
        by_assertion="y_held_until_ready",
    ),
    Mutant(
        "select_groups_share_group0",
        "flexcim_distribution.sv",
        "q    = q_i[(p*SELS + g)*QW +: QW];",
        "q    = q_i[(p*SELS)*QW +: QW];",
        "every select group of a slot uses group 0's pair select (G < C)",
        config="small_g2",
    ),
    Mutant(
        "beat_rows_all_take_row0",
        "flexcim_core.sv",
        "<= s_axis_a_tdata[j*ROW_W +: ROW_W];",
        "<= s_axis_a_tdata[0 +: ROW_W];",
        "every row of a multi-row activation beat takes the beat's first row (RPB > 1)",
        config="small_rpb4",
    ),
    # Bugs only the recommended core's shape can have (G = 1, RPB = R; at G = C and RPB = 1
    # each substitution is the identity), run on its small form small_g1_rpb4.
    Mutant(
        "select_column_takes_neighbours",
        "flexcim_distribution.sv",
        "q    = q_i[(p*SELS + g)*QW +: QW];",
        "q    = q_i[(p*SELS + (g == 1 ? 0 : g))*QW +: QW];",
        "column 1's pair select is wired to its neighbour's, column 0's (G < C)",
        config="small_g1_rpb4",
    ),
    Mutant(
        "beat_row_index_off_by_one",
        "flexcim_core.sv",
        "act_q[RIW'(32'(a_beat) * RPB + j)]",
        "act_q[RIW'(32'(a_beat) * RPB + (j + 1) % RPB)]",
        "row j of a multi-row activation beat is stored as row j + 1 of the beat (RPB > 1)",
        config="small_g1_rpb4",
    ),
    Mutant(
        "beat_drops_last_row",
        "flexcim_core.sv",
        "for (int j = 0; j < RPB; j++) begin",
        "for (int j = 0; j < (RPB > 1 ? RPB - 1 : 1); j++) begin",
        "the last row of a multi-row activation beat is never written (RPB > 1)",
        config="small_g1_rpb4",
    ),
    # Bugs of the comparison baselines (FIXED_N/FIXED_M): identities on FlexCiM.
    Mutant(
        "dense_core_reads_wrong_lane",
        "flexcim_distribution.sv",
        "{{AB{1'b0}}, row_i[p*AB +: AB]}",
        "{{AB{1'b0}}, row_i[((p + 1) % P)*AB +: AB]}",
        "the dense DCiM wires slot p to activation p + 1 of its group",
        config="small_dense",
    ),
    Mutant(
        "fixed24_ignores_pair_select",
        "flexcim_distribution.sv",
        "wire q0 = q_i[(p*SELS + g)*QW];",
        "wire q0 = 1'b0;",
        "the fixed 2:4 core always reads pair 0 of its set (no 2:1 pair mux)",
        config="small_fixed24",
    ),
    Mutant(
        "baseline_accepts_any_pattern",
        "flexcim_ctrl.sv",
        "else if (!pattern_served)   code_d = 4'd6;",
        "else if (1'b0)              code_d = 4'd6;",
        "a baseline core starts a job of a pattern it does not serve (no error code 6)",
        config="small_fixed12",
    ),
)

# Groups of tb/core/test_core.py run per mutant: values, stalls, control and multi-job.
GROUPS = ("patterns", "stalls", "control", "layers")


@dataclass(frozen=True)
class Outcome:
    mutant: Mutant
    caught: bool
    message: str
    seconds: float


def apply(mutant: Mutant, rtl_dir: Path) -> None:
    """Apply `mutant` to the copy in `rtl_dir` (never to rtl/)."""
    path = rtl_dir / mutant.file
    assert path.resolve().parent != RTL_DIR.resolve(), "refusing to mutate rtl/ in place"
    text = path.read_text()
    hits = text.count(mutant.old)
    if hits != 1:
        raise ValueError(f"mutant {mutant.name}: pattern found {hits} times in {mutant.file}")
    path.write_text(text.replace(mutant.old, mutant.new))


def _first_failure(log: str) -> str:
    """The first check message of a failing run (skipping the runner's summary lines).

    An RTL assertion (tb.common.assertions) counts first: it fires at the faulty cycle.
    """
    for line in log.splitlines():
        match = re.search(r"RtlAssertionFailed: (RTL assertion \w+ failed)", line)
        if match:
            return match.group(1)
    for line in log.splitlines():
        match = re.search(r"AssertionError: (.*)", line)
        if match and "tests failed" not in line and "no cocotb test ran" not in line:
            return match.group(1).strip()
    tail = [line for line in log.splitlines() if line.strip()][-3:]
    return " | ".join(tail)


def run_mutant(mutant: Mutant, config: str, seed: int, work: Path) -> Outcome:
    """Copy rtl/, mutate, run the selected regression groups; caught = a check failed."""
    config = mutant.config or config
    rtl_copy = work / mutant.name / "rtl"
    shutil.copytree(RTL_DIR, rtl_copy)
    apply(mutant, rtl_copy)
    env = dict(os.environ)
    env.update(
        FLEXCIM_RTL_DIR=str(rtl_copy),
        FLEXCIM_SIM_BUILD=str(work / mutant.name / "sim_build"),
        SIM="verilator",
        CONFIG=config,
        CORE_CONFIGS=config,
        COCOTB_RANDOM_SEED=str(seed),
        FLEXCIM_COVERAGE="0",
    )
    select = " or ".join(f"{config}-{g}" for g in GROUPS)
    cmd = [sys.executable, "-m", "pytest", "tb/core/test_core.py", "-x", "-q", "-k", select]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0 and "AssertionError" not in log:
        raise RuntimeError(f"mutant {mutant.name}: run failed without a check failing:\n{log}")
    caught = proc.returncode != 0
    message = _first_failure(log) if caught else "all checks passed"
    if caught and mutant.by_assertion:
        caught = message == f"RTL assertion {mutant.by_assertion} failed"
        message = message if caught else f"not by {mutant.by_assertion}: {message}"
    return Outcome(mutant, caught, message, time.perf_counter() - start)


def run_all(names: list[str] | None = None, config: str = "small", seed: int = 1) -> list[Outcome]:
    chosen = [m for m in MUTANTS if not names or m.name in names]
    with tempfile.TemporaryDirectory(prefix="flexcim-mutants-") as tmp:
        return [run_mutant(m, config, seed, Path(tmp)) for m in chosen]


def main(argv: list[str] | None = None) -> int:
    parser = OneLineParser(prog="python -m tb.mutation", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"mutants (default all: {[m.name for m in MUTANTS]})"
    )
    parser.add_argument("--config", default="small")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in {m.name for m in MUTANTS}]
    if unknown:
        parser.error(
            f"unknown mutant {unknown[0]}; choose from {', '.join(m.name for m in MUTANTS)}"
        )
    checked_configs([args.config], parser.prog, "--config")
    if args.seed < 0:
        parser.error(f"--seed {args.seed}: a seed is a non-negative integer")
    outcomes = run_all(args.names, args.config, args.seed)
    print("\n| mutant | what it breaks | config | result | first failing check | s |")
    print("|---|---|---|---|---|---|")
    for o in outcomes:
        verdict = "caught" if o.caught else "MISSED"
        cfg = o.mutant.config or args.config
        print(
            f"| {o.mutant.name} | {o.mutant.why} | {cfg} | {verdict} | {o.message} "
            f"| {o.seconds:.0f} |"
        )
    missed = [o.mutant.name for o in outcomes if not o.caught]
    print(f"\n{len(outcomes) - len(missed)} of {len(outcomes)} mutants caught")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
