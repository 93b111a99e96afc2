"""Raw Verilator ceiling: the fast-path model driven from C++, no cocotb, no VPI, no Python.

`python -m bench.ceiling [config]` builds tb/fast/flexcim_fast_tb.sv with
bench/ceiling/ceiling_main.cpp (the runner's Verilator options, minus cocotb's VPI), writes one
long 1:1 job (golden-mapped, fixed seed 2026) into the memory files, runs it REPEATS times and
prints the model's cycles/s: the ceiling beside the cocotb paths of bench.tb_bench. CYCLES
of every run and the outputs of the last run are checked against golden.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from golden.beats import decode_output_beat
from golden.cli import checked_configs
from golden.config import HwConfig
from tb.common.bulk import job_memory_lines, read_memh
from tb.common.jobs import layer_jobs
from tb.common.runner import build_dir_for, core_sources, load_configs, verilator_build_args
from tb.fast.run import DEPTHS, TB_TOP
from tb.toolchain import simulator_env

MAIN = Path(__file__).resolve().parent / "ceiling" / "ceiling_main.cpp"
PASSES, REPEATS, SEED = 16, 20, 2026


def build(config: str, tag: str = "", extra: tuple[str, ...] = (), **depths: int) -> Path:
    """Build (or reuse) the C++-driven model; returns its executable."""
    folder = build_dir_for("verilator", "ceiling", config + tag)
    exe = folder / "Vceiling"
    params = {**load_configs()[config], **DEPTHS, **depths}
    sources = [*core_sources(), TB_TOP, MAIN]
    if exe.is_file() and all(exe.stat().st_mtime > p.stat().st_mtime for p in sources):
        return exe
    cmd = [
        "verilator",
        "--cc",
        "--exe",
        "--build",
        "-j",
        "2",
        "--top-module",
        "flexcim_fast_tb",
        "--prefix",
        "Vceiling",
        "-Mdir",
        str(folder),
        *verilator_build_args(),
        *extra,
        *(f"-G{k}={v}" for k, v in params.items()),
        *(str(p) for p in sources),
    ]
    subprocess.run(cmd, check=True, env=simulator_env("verilator"), stdout=subprocess.DEVNULL)
    return exe


def measure(config: str, tag: str = "", extra: tuple[str, ...] = (), **depths: int) -> dict:
    cfg = HwConfig.named(config)
    t0 = time.perf_counter()
    exe = build(config, tag, extra, **depths)
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(SEED)
    k = PASSES * cfg.P * cfg.R * 2  # 1:1 fills two slots per cell pair: PASSES passes
    w = rng.integers(-128, 128, (cfg.C, k), dtype=np.int8)
    x = rng.integers(-128, 128, (cfg.MAX_TOK, k), dtype=np.int8)
    _, jobs = layer_jobs("ceiling", w, x, 1, 1, cfg)
    job = jobs[0]
    w_lines, a_lines = job_memory_lines(job, cfg)
    folder = exe.parent
    (folder / "w.hex").write_text("\n".join(w_lines) + "\n")
    (folder / "a.hex").write_text("\n".join(a_lines) + "\n")
    args = [len(w_lines), len(a_lines), job.tile.n_hw, job.tile.m_hw, job.tokens, job.passes]
    out = subprocess.run(
        [str(exe), *map(str, args), str(REPEATS)],
        cwd=folder,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    cycles, total, secs = int(out[0]), int(out[1]), float(out[2])
    if cycles != job.model_cycles:
        raise SystemExit(f"ceiling run: CYCLES {cycles} != golden.cycle_model {job.model_cycles}")
    got = np.stack([decode_output_beat(v, cfg) for v in read_memh(folder / "y.hex")])
    if not np.array_equal(got[: job.tokens], job.expected):
        raise SystemExit("ceiling run: the last run's outputs differ from golden")
    return {
        "build_s": build_s,
        "passes": job.passes,
        "cycles": cycles,
        "seconds": secs,
        "cycles_per_s": total / secs,
    }


def main(argv: list[str] | None = None) -> None:
    configs = argv or ["paper"]
    checked_configs(configs, "python -m bench ceiling")
    print("| config | job passes | job cycles (== model) | repeats | wall s | cycles/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for config in configs:
        r = measure(config)
        print(
            f"| {config} | {r['passes']} | {r['cycles']:,} | {REPEATS} | {r['seconds']:.3f} | "
            f"{r['cycles_per_s']:,.0f} |"
        )
    print(
        f"\n(C++ driver, no cocotb/VPI; job values from seed {SEED}; CYCLES == model and the last "
        "run's outputs == golden)"
    )


if __name__ == "__main__":
    main(sys.argv[1:])
