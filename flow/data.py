"""Calibration and perplexity windows from one text file, on disjoint, recorded token ranges."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from flow.models import file_sha256

# Relative to the repository root; the corpus stays outside the repo (licence, size).
DEFAULT_TEXT = Path(__file__).resolve().parent.parent.parent / (
    "shared/data/wikitext-2-raw-v1/wiki.test.raw"
)


@dataclass(frozen=True)
class WindowSpec:
    """Where the windows come from, in tokens of the whole tokenised file (half-open ranges)."""

    text_path: str
    text_sha256: str
    total_tokens: int
    seqlen: int
    calib_range: tuple[int, int]
    eval_range: tuple[int, int]

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Windows:
    spec: WindowSpec
    calib: torch.Tensor  # (nsamples, seqlen) int64
    eval: torch.Tensor  # (n_eval, seqlen) int64


def read_text(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"text file not found: {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise ValueError(f"text file is empty: {path}")
    return text


def make_windows(
    tokenizer: object,
    text_path: Path,
    nsamples: int,
    seqlen: int,
    n_eval: int,
    eval_start: float = 0.5,
    calib_set: int = 0,
) -> Windows:
    """Consecutive calibration windows and evaluation windows from `eval_start` (a fraction of
    the file's tokens), so the two ranges never overlap.

    Calibration set s is tokens [s * nsamples * seqlen, (s + 1) * nsamples * seqlen): sets are
    disjoint, and every set that ends before `eval_start` sees the same evaluation windows, so
    results over several sets are paired (the multi-seed statistics of `flow eval --seeds`).
    """
    if nsamples < 1 or seqlen < 2 or n_eval < 0 or calib_set < 0:
        raise ValueError(
            f"need nsamples >= 1, seqlen >= 2, n_eval >= 0, calib_set >= 0; got {nsamples}, "
            f"{seqlen}, {n_eval}, {calib_set}"
        )
    text_path = Path(text_path)
    ids = tokenizer(read_text(text_path), return_tensors=None)["input_ids"]
    total = len(ids)
    calib_lo = calib_set * nsamples * seqlen
    calib_end = calib_lo + nsamples * seqlen
    eval_lo = max(calib_end, int(total * eval_start))
    eval_hi = eval_lo + n_eval * seqlen
    if eval_hi > total:
        raise ValueError(
            f"text too short: {text_path} has {total} tokens; calibration needs "
            f"[{calib_lo}, {calib_end}) "
            f"and evaluation [{eval_lo}, {eval_hi}) ({nsamples}+{n_eval} windows of {seqlen})"
        )
    tokens = torch.tensor(ids, dtype=torch.long)
    spec = WindowSpec(
        text_path=str(text_path),
        text_sha256=file_sha256(text_path),
        total_tokens=total,
        seqlen=seqlen,
        calib_range=(calib_lo, calib_end),
        eval_range=(eval_lo, eval_hi),
    )
    return Windows(
        spec=spec,
        calib=tokens[calib_lo:calib_end].view(nsamples, seqlen),
        eval=tokens[eval_lo:eval_hi].view(n_eval, seqlen),
    )
