"""`make bench`: run every benchmark in one go and print their tables.

Each benchmark module has a ``main()``; names can be given to run a subset:
``python -m bench golden_bench speedup_table``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

BENCHES = ("golden_bench", "speedup_table", "rtl_bench", "ceiling", "tb_bench", "flow_bench")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Run benchmarks and print their tables."
    )
    parser.add_argument(
        "names", nargs="*", metavar="bench", help=f"benchmarks to run (default all): {BENCHES}"
    )
    names = parser.parse_args(argv).names or list(BENCHES)
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}")
    for name in names:
        print(f"\n## bench.{name}\n", flush=True)
        start = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"\n(bench.{name} took {time.perf_counter() - start:.1f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
