"""`make bench`: run every benchmark in one go and print their tables.

Each benchmark module has a ``main()``; names can be given to run a subset:
``python -m bench golden_bench speedup_table``. Options after a single name go to that
benchmark: ``python -m bench flow_scale --size 7b --device cuda``.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = ("golden_bench", "speedup_table", "rtl_bench", "tb_bench", "flow_bench", "flow_scale")


def main(argv: list[str]) -> int:
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:split] or list(BENCHES), argv[split:]
    if options and len(names) != 1:
        print("options go to one benchmark: python -m bench NAME --option ...", file=sys.stderr)
        return 2
    unknown = sorted(set(names) - set(BENCHES))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}", file=sys.stderr)
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
