"""Stimulus export (ARCHITECTURE §6) through golden.stimulus, cached by a content hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from flow.pipeline import BlockStats, ExportCapture, Selection, hm_key
from golden.nm_format import quantize_per_channel
from golden.stimulus import Stimulus, StimulusLayer, load_stimulus

_REPO = Path(__file__).resolve().parent.parent
# Sources whose change must invalidate a cached stimulus.
_CODE_FILES = ("golden/stimulus.py", "golden/masks.py", "golden/nm_format.py", "golden/config.py")


def code_version() -> str:
    """sha256 over the flow package sources and the golden modules the export depends on."""
    digest = hashlib.sha256()
    files = sorted((_REPO / "flow").glob("*.py")) + [_REPO / f for f in _CODE_FILES]
    for path in files:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def cache_key(model_sha: str, text_sha: str, options: dict) -> str:
    blob = json.dumps(
        {"model": model_sha, "text": text_sha, "options": options, "code": code_version()},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


def quantize_activations(x: np.ndarray) -> tuple[np.ndarray, float]:
    """Symmetric per-tensor int8 (one scale for the token block, as the core takes it)."""
    amax = float(np.max(np.abs(x))) if x.size else 0.0
    scale = amax / 127.0 if amax > 0 else 1.0
    return np.clip(np.rint(x / scale), -127, 127).astype(np.int8), scale


def build_stimulus(
    model_name: str,
    capture: ExportCapture,
    stats: list[BlockStats],
    selection: Selection,
    source: dict,
) -> Stimulus:
    """One stimulus layer per captured sublayer: int8 per-channel weights inside the N:M mask."""
    k = hm_key(selection.options.get("hyper_m", 5.0))
    layers = []
    for item in capture.kept:
        q, scales = quantize_per_channel(item["weight"].astype(np.float32))
        q = np.where(item["mask"], q, 0).astype(np.int8)  # pruned weights are zero already
        act, act_scale = quantize_activations(item["act"])
        s = stats[item["block"]]
        layers.append(
            StimulusLayer(
                name=f"block{item['block']}.{item['sublayer']}",
                n=int(item["n"]),
                m=int(item["m"]),
                outlier_ratio=float(s.outlier_ratio[k]),
                locality=float(s.locality[k]),
                weight=q,
                scale=scales.astype(np.float32),
                mask=item["mask"].astype(bool),
                act=act,
                act_scale=float(act_scale),
                perm=None if item.get("perm") is None else item["perm"].astype(np.int32),
            )
        )
    return Stimulus(model=model_name, source=source, layers=layers)


def cached(path: Path) -> tuple[bool, str]:
    """(True, "") when `path` holds a stimulus that loads and validates; else (False, why),
    why = "" when there is no file. Any failure to read it (a truncated or corrupt zip, a
    text file, a format error) means rebuild, never crash."""
    if not path.is_file():
        return False, ""
    try:
        load_stimulus(path)
    except Exception as e:
        return False, f"{type(e).__name__}: {e}"
    return True, ""
