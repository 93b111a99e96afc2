"""FLOW end-to-end cost: select + prune + export of the default model with the default
calibration (32 x 512 tokens), in a child process so its wall time, CPU time and peak RSS are
its own. `python -m bench.flow_bench`; writes build/bench/flow_bench.json."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from golden.files import write_atomic

_REPO = Path(__file__).resolve().parent.parent


def main() -> None:
    # The default output folder: afterwards `make stimulus` is a cache hit on this very file.
    out_dir = _REPO / "build/stimulus"
    log = _REPO / "build/bench/flow_export.json"
    cmd = [sys.executable, "-m", "flow", "export", "--force", "--out-dir", str(out_dir),
           "--log", str(log)]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=_REPO, check=True, env={**os.environ, "TQDM_DISABLE": "1"})
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    run = json.loads(log.read_text())
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    load = os.getloadavg()
    result = {
        "command": " ".join(cmd[1:]),
        "wall_seconds": round(wall, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_rss_mib": round(after.ru_maxrss / 1024, 1),
        "stages_seconds": {k: round(v, 1) for k, v in run["stages"].items()},
        "calibration_tokens": run["windows"]["calib_range"],
        "stimulus_bytes": run["bytes"],
        "torch_threads": 2,
        "load_average_after": [round(v, 2) for v in load],
        "target": "select+prune+export under 300 s on 2 cores",
    }
    path = _REPO / "build/bench/flow_bench.json"
    write_atomic(path, json.dumps(result, indent=1))
    print("| quantity | value |\n|---|---|")
    for key, value in result.items():
        print(f"| {key} | {value} |")
    print(f"\n(written to {path}; the machine is shared, so compare cpu_seconds across runs)")


if __name__ == "__main__":
    main()
