"""`make bench`: run every benchmark in one go and print their tables.

Each benchmark module has a ``main()``; names can be given to run a subset:
``python -m bench golden_bench speedup_table``. Options after a single name go to that
benchmark: ``python -m bench flow_scale --size 7b --device cuda``.
"""

from __future__ import annotations

import importlib
import sys
import time

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
    if options and len(names) != 1:
        print("options go to one benchmark: python -m bench NAME --option ...", file=sys.stderr)
        return 2
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"{USAGE}\npython -m bench: error: unknown benchmark(s) {unknown}", file=sys.stderr)
        return 2
    for name in names:
        print(f"\n## bench.{name}\n", flush=True)
        start = time.perf_counter()
        bench_main = importlib.import_module(f"bench.{name}").main
        bench_main(options) if options else bench_main()
        print(f"\n(bench.{name} took {time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
