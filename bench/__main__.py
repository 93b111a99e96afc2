"""`make bench`: run every benchmark in one go and print their tables.

Each benchmark module has a ``main()``; names can be given to run a subset:
``python -m bench golden_bench speedup_table``. Options after a single name go to that
benchmark: ``python -m bench flow_scale --size 7b --device cuda``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
import time

from golden.cli import refuse

BENCHES = (
    "golden_bench",
    "speedup_table",
    "rtl_bench",
    "ceiling",
    "tb_bench",
    "flow_bench",
    "flow_scale",
    "measured_cost",
)
USAGE = f"""usage: python -m bench [bench ...] [--option ...]

Run benchmarks and print their tables (default: all of {list(BENCHES)}).
Options after the names go to the one benchmark named, e.g. python -m bench tb_bench --seed 7."""


def main(argv: list[str]) -> int:
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:split] or list(BENCHES), argv[split:]
    prog = "python -m bench"
    unknown = [name for name in names if name not in BENCHES]
    if unknown:
        return refuse(prog, f"unknown benchmark {unknown[0]}; choose from {', '.join(BENCHES)}")
    if options and len(names) != 1:
        return refuse(prog, f"options {' '.join(options)} go to one benchmark: NAME --option ...")
    if (
        options
        and not inspect.signature(importlib.import_module(f"bench.{names[0]}").main).parameters
    ):
        return refuse(prog, f"{names[0]} takes no options (got {' '.join(options)})")
    for name in names:
        if len(names) > 1:  # one benchmark's options are checked before anything is printed
            print(f"\n## bench.{name}\n", flush=True)
        start = time.perf_counter()
        bench_main = importlib.import_module(f"bench.{name}").main
        bench_main(options) if options else bench_main()
        print(f"\n(bench.{name} took {time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
