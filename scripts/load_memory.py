"""Host and GPU memory of loading a saved model with flow.models.load_model.

    python scripts/load_memory.py save SIZE DIR   # random-weight bf16 LLaMA-layout model of a
                                                  # bench.flow_scale size, plus a small tokenizer
    python scripts/load_memory.py load DIR        # load it onto cuda; print time and peak memory

Run `load` in a fresh process (peak RSS is per process), with the flow/ to measure on the path.
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path.cwd()))


def main(argv: list[str]) -> int:
    if argv[:1] == ["save"] and len(argv) == 3:
        from bench.flow_scale import build_model
        from flow.tests.conftest import _tokenizer, write_text

        lm = build_model(argv[1], None, 2048, torch.bfloat16, "cuda", 0)
        out = Path(argv[2])
        lm.model.save_pretrained(out)
        _tokenizer(write_text(out / "corpus.txt", 3000)).save_pretrained(out)
        print("saved", sum(p.numel() for p in lm.model.parameters()), "parameters to", out)
        return 0
    if argv[:1] == ["load"] and len(argv) == 2:
        from flow.models import load_model

        start = time.perf_counter()
        lm = load_model(Path(argv[1]), device="cuda")
        torch.cuda.synchronize()
        p = next(lm.model.parameters())
        print(
            f"load: {time.perf_counter() - start:.1f} s, weights {p.dtype} on {p.device}, "
            f"peak host RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB, "
            f"peak GPU {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB"
        )
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
