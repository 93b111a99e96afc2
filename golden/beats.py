"""Bit-exact AXI4-Stream beat encodings of docs/ARCHITECTURE.md §3 (tdata as Python ints).

Packing goes through a bit matrix and `np.packbits(bitorder="little")`, so whole passes encode
in one vectorised step; bit i of the int is bit i of tdata.
"""

from __future__ import annotations

import numpy as np

from golden.config import HwConfig
from golden.mapper import TileImage


def _bits(v: np.ndarray, width: int) -> np.ndarray:
    """Two's-complement bits, LSB first: (...,) ints -> (..., width) uint8."""
    u = np.asarray(v, dtype=np.int64) & ((1 << width) - 1)
    return ((u[..., None] >> np.arange(width)) & 1).astype(np.uint8)


def _pack(bits: np.ndarray, width: int) -> list[int]:
    """(beats, n) bit rows -> ints, zero padded to `width` bits."""
    nb = bits.shape[0]
    full = np.zeros((nb, width), np.uint8)
    full[:, : bits.shape[1]] = bits
    raw = np.packbits(full, axis=1, bitorder="little")
    return [int.from_bytes(row.tobytes(), "little") for row in raw]


def _unpack(tdata: int, width: int) -> np.ndarray:
    if not isinstance(tdata, int) or not 0 <= tdata < (1 << width):
        raise ValueError(f"tdata {tdata!r} is not a {width}-bit unsigned value")
    raw = np.frombuffer(tdata.to_bytes((width + 7) // 8, "little"), np.uint8)
    return np.unpackbits(raw, bitorder="little")[:width].astype(np.int64)


def _signed(bits: np.ndarray) -> np.ndarray:
    """(..., width) LSB-first bits -> signed int64."""
    width = bits.shape[-1]
    u = (bits << np.arange(width)).sum(-1)
    return np.where(u >= 1 << (width - 1), u - (1 << width), u)


def weight_beats(tile: TileImage, cfg: HwConfig) -> list[list[int]]:
    """[pass][p*R + r]: weight of column c at [c*WB +: WB], b at C*WB + c, then the C/G
    pair selects, select g (columns g*G .. g*G+G-1) at [C*WB + C + g*QW +: QW]."""
    P, R, C, WB = cfg.P, cfg.R, cfg.C, cfg.WB
    if tile.weight.shape != (tile.passes, P, R, C):
        raise ValueError(f"tile images {tile.weight.shape} do not match the config")
    if tile.sels != cfg.SELS:
        raise ValueError(
            f"tile has {tile.sels} pair selects per slot row, the core G={cfg.G} takes "
            f"{cfg.SELS}: no hardware encoding (map it with this config's G)"
        )
    n = tile.passes * P * R
    bits = np.concatenate(
        [
            _bits(tile.weight.reshape(n, C), WB).reshape(n, C * WB),
            tile.meta.reshape(n, C).astype(np.uint8) & 1,
            _bits(tile.q.reshape(n, cfg.SELS), cfg.QW).reshape(n, cfg.SELS * cfg.QW),
        ],
        axis=1,
    )
    beats = _pack(bits, cfg.W_TDATA)
    per_pass = P * R
    return [beats[i * per_pass : (i + 1) * per_pass] for i in range(tile.passes)]


def decode_weight_beat(
    tdata: int, cfg: HwConfig
) -> tuple[np.ndarray, np.ndarray, int | np.ndarray]:
    """Inverse of one weight beat: (weights int64 (C,), meta (C,), q).

    q is an int when G = C (one select) and an int64 array (C/G,) of the selects otherwise.
    """
    C, WB, QW, sels = cfg.C, cfg.WB, cfg.QW, cfg.SELS
    b = _unpack(tdata, cfg.W_TDATA)
    w = _signed(b[: C * WB].reshape(C, WB))
    meta = b[C * WB : C * WB + C]
    qbits = b[C * WB + C : C * WB + C + sels * QW].reshape(sels, QW)
    qs = (qbits << np.arange(QW)).sum(-1)
    q = int(qs[0]) if sels == 1 else qs
    if b[C * WB + C + sels * QW :].any():
        raise ValueError("weight beat has non-zero padding bits")
    return w, meta, q


def activation_beats(rows: np.ndarray, cfg: HwConfig) -> list[list[list[int]]]:
    """[pass][token][beat]: rows [passes, T, R, A_LANES] -> beat i holds rows i*RPB ..
    i*RPB + RPB-1, row j of the beat at [j*A_LANES*AB +: A_LANES*AB], lane l at [l*AB +: AB]."""
    rows = np.asarray(rows)
    if rows.ndim != 4 or rows.shape[2:] != (cfg.R, cfg.A_LANES):
        raise ValueError(f"rows must be [passes, T, R={cfg.R}, {cfg.A_LANES}], got {rows.shape}")
    passes, t, _, lanes = rows.shape
    per_beat = cfg.RPB * lanes  # rows of one beat are consecutive in the flat order
    flat = rows.reshape(-1, per_beat)
    if cfg.AB == 8 and per_beat * 8 == cfg.A_TDATA:
        # Byte lanes fill the beat exactly: lane l is byte l of the little-endian tdata, so
        # the beat is its lanes' bytes (no bit matrix; a third of a short job's golden time).
        raw = (flat.astype(np.int64) & 0xFF).astype(np.uint8).tobytes()
        it = iter(
            int.from_bytes(raw[i : i + per_beat], "little") for i in range(0, len(raw), per_beat)
        )
    else:
        bits = _bits(flat, cfg.AB).reshape(-1, per_beat * cfg.AB)
        it = iter(_pack(bits, cfg.A_TDATA))
    return [[[next(it) for _ in range(cfg.A_BEATS)] for _ in range(t)] for _ in range(passes)]


def decode_activation_beat(tdata: int, cfg: HwConfig) -> np.ndarray:
    """Inverse of one activation beat: int64 (A_LANES,) signed at RPB = 1, else
    (RPB, A_LANES), row j of the beat first-indexed."""
    lanes = _signed(_unpack(tdata, cfg.A_TDATA).reshape(cfg.RPB * cfg.A_LANES, cfg.AB))
    return lanes if cfg.RPB == 1 else lanes.reshape(cfg.RPB, cfg.A_LANES)


def encode_output_beat(y: np.ndarray, cfg: HwConfig) -> int:
    """C signed ACC-bit outputs -> tdata (lane c at [c*ACC +: ACC]); out of range raises."""
    y = np.asarray(y)
    if y.shape != (cfg.C,) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must be ({cfg.C},) integers, got {y.dtype} {y.shape}")
    lim = 1 << (cfg.ACC - 1)
    if int(y.min()) < -lim or int(y.max()) >= lim:
        raise ValueError(f"y does not fit ACC={cfg.ACC} signed bits")
    return sum((int(v) & ((1 << cfg.ACC) - 1)) << (c * cfg.ACC) for c, v in enumerate(y))


def decode_output_beat(tdata: int, cfg: HwConfig) -> np.ndarray:
    """tdata -> int64 (C,) signed (ACC <= 64 bits)."""
    if not isinstance(tdata, int) or not 0 <= tdata < (1 << cfg.Y_TDATA):
        raise ValueError(f"tdata {tdata!r} is not a {cfg.Y_TDATA}-bit unsigned value")
    mask, half = (1 << cfg.ACC) - 1, 1 << (cfg.ACC - 1)
    vals = [(tdata >> (c * cfg.ACC)) & mask for c in range(cfg.C)]
    return np.array([v - (1 << cfg.ACC) if v >= half else v for v in vals], np.int64)


def to_bytes(tdata: int, width_bits: int) -> bytes:
    """Little-endian bytes of a beat (what cocotbext-axi's AxiStreamFrame carries)."""
    if width_bits % 8 or width_bits <= 0:
        raise ValueError(f"width_bits={width_bits}: must be a positive multiple of 8")
    if not isinstance(tdata, int) or not 0 <= tdata < (1 << width_bits):
        raise ValueError(f"tdata {tdata!r} does not fit {width_bits} unsigned bits")
    return tdata.to_bytes(width_bits // 8, "little")
