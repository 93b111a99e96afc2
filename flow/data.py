"""Calibration and perplexity windows, on recorded token ranges: from one text file (disjoint
ranges), or calibration from a text of its own (`--calib-text`), each file hashed."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from flow.models import file_sha256


@dataclass(frozen=True)
class WindowSpec:
    """Where the windows come from, in tokens of the whole tokenised file (half-open ranges)."""

    text_path: str  # the evaluation text
    text_sha256: str
    total_tokens: int
    seqlen: int
    calib_range: tuple[int, int]  # in tokens of the calibration text
    eval_range: tuple[int, int]  # in tokens of the evaluation text
    calib_text_path: str = ""  # the calibration text (the evaluation text unless asked)
    calib_text_sha256: str = ""
    calib_total_tokens: int = 0

    def as_dict(self) -> dict[str, object]:
        return asdict(self)

    def calibration(self) -> dict[str, object]:
        """What the calibration windows depend on (not the evaluation range: a cost table
        measured on the calibration windows stays valid when only the evaluation moves)."""
        return {
            "seqlen": self.seqlen,
            "calib_range": list(self.calib_range),
            "calib_text_sha256": self.calib_text_sha256 or self.text_sha256,
        }


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


def same_file(a: Path, b: Path) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def texts_sha256(text_path: Path, calib_path: Path | None = None) -> str:
    """One hash for the text(s) the windows come from (the export's cache key)."""
    if calib_path is None or same_file(calib_path, text_path):
        return file_sha256(Path(text_path))
    return hashlib.sha256(
        f"{file_sha256(Path(text_path))}:{file_sha256(Path(calib_path))}".encode()
    ).hexdigest()


def _token_ids(tokenizer: object, path: Path) -> list[int]:
    return tokenizer(read_text(path), return_tensors=None)["input_ids"]


def make_windows(
    tokenizer: object,
    text_path: Path,
    nsamples: int,
    seqlen: int,
    n_eval: int,
    eval_start: float = 0.5,
    calib_set: int = 0,
    calib_path: Path | None = None,
) -> Windows:
    """Consecutive calibration windows and evaluation windows from `eval_start` (a fraction of
    the evaluation text's tokens). With one text the two ranges never overlap; with
    `calib_path` (another file) calibration reads that file instead.

    Calibration set s is tokens [s * nsamples * seqlen, (s + 1) * nsamples * seqlen) of the
    calibration text: sets are disjoint, and every set that ends before `eval_start` sees the
    same evaluation windows, so results over several sets are paired (the multi-seed
    statistics of `flow eval --seeds`).
    """
    if nsamples < 1 or seqlen < 2 or n_eval < 0 or calib_set < 0:
        raise ValueError(
            f"need nsamples >= 1, seqlen >= 2, n_eval >= 0, calib_set >= 0; got {nsamples}, "
            f"{seqlen}, {n_eval}, {calib_set}"
        )
    text_path = Path(text_path)
    ids = _token_ids(tokenizer, text_path)
    total = len(ids)
    calib_lo = calib_set * nsamples * seqlen
    calib_end = calib_lo + nsamples * seqlen
    separate = calib_path is not None and not same_file(calib_path, text_path)
    if separate:
        calib_path = Path(calib_path)
        calib_ids = _token_ids(tokenizer, calib_path)
        if calib_end > len(calib_ids):
            raise ValueError(
                f"calibration text too short: {calib_path} has {len(calib_ids)} tokens; "
                f"calibration needs [{calib_lo}, {calib_end}) ({nsamples} windows of {seqlen})"
            )
        eval_lo = int(total * eval_start)
    else:
        calib_path, calib_ids = text_path, ids
        eval_lo = max(calib_end, int(total * eval_start))
    eval_hi = eval_lo + n_eval * seqlen
    if eval_hi > total:
        need = "" if separate else f"calibration needs [{calib_lo}, {calib_end}) and "
        raise ValueError(
            f"text too short: {text_path} has {total} tokens; {need}"
            f"evaluation [{eval_lo}, {eval_hi}) ({'' if separate else f'{nsamples}+'}"
            f"{n_eval} windows of {seqlen})"
        )
    tokens = torch.tensor(ids, dtype=torch.long)
    calib_tokens = torch.tensor(calib_ids[calib_lo:calib_end], dtype=torch.long)
    text_sha = file_sha256(text_path)
    spec = WindowSpec(
        text_path=str(text_path),
        text_sha256=text_sha,
        total_tokens=total,
        seqlen=seqlen,
        calib_range=(calib_lo, calib_end),
        eval_range=(eval_lo, eval_hi),
        calib_text_path=str(calib_path),
        calib_text_sha256=file_sha256(calib_path) if separate else text_sha,
        calib_total_tokens=len(calib_ids),
    )
    return Windows(
        spec=spec,
        calib=calib_tokens.view(nsamples, seqlen),
        eval=tokens[eval_lo:eval_hi].view(n_eval, seqlen),
    )


def check_calib_sets(spec: WindowSpec, nsamples: int, calib_sets: tuple[int, ...]) -> None:
    """Every calibration set in `calib_sets` fits beside the evaluation windows of `spec` (so
    results over several sets are paired, `flow eval --seeds`): inside the calibration text,
    and, from the evaluation text, ending before the evaluation windows begin."""
    eval_lo, eval_hi = spec.eval_range
    separate = spec.calib_text_path != spec.text_path
    for s in calib_sets:
        lo, hi = s * nsamples * spec.seqlen, (s + 1) * nsamples * spec.seqlen
        if separate and hi > spec.calib_total_tokens:
            raise ValueError(
                f"calibration set {s} needs tokens [{lo}, {hi}) of {spec.calib_text_path}, "
                f"which has {spec.calib_total_tokens}: lower --nsamples, --seqlen or --seeds"
            )
        if not separate and hi > eval_lo:
            raise ValueError(
                f"calibration set {s} (tokens [{lo}, {hi})) overlaps the evaluation windows "
                f"[{eval_lo}, {eval_hi}) of {spec.text_path}: lower --first-seed, --seeds or "
                "--nsamples, or raise --eval-start"
            )
