"""Stimulus file `flexcim-stimulus` v1/v2 (docs/ARCHITECTURE.md §6): FLOW export -> tb replay.

An `.npz` without pickled objects: a JSON header in a 0-d str array plus, per layer `i`,
`L{i}_weight`, `L{i}_scale`, `L{i}_mask`, `L{i}_act`, `L{i}_act_scale`, and (version 2 only,
layers whose header entry says `"permuted": true`) `L{i}_perm`, the int32 input-channel order
the host streams activations in (issue 18): `mask[:, perm]` is N:M, weight and mask stay in the
original order and y = W x. A file is written as version 1 when no layer is permuted (so every
v1 reader keeps reading it) and as version 2 otherwise (a v1 reader refuses it by version
instead of misreading it). Everything is validated on save and on load; errors are
`StimulusError` naming the layer and the problem.
"""

from __future__ import annotations

import json
import math
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import numpy as np

from golden.files import atomic_path
from golden.masks import nm_mask
from golden.nm_format import NMViolation, check_nm, check_nm_args, quantize_per_channel

FORMAT = "flexcim-stimulus"
VERSION = 2  # the newest version written; VERSION_PLAIN when no layer is permuted
VERSION_PLAIN = 1
READ_VERSIONS = (1, 2)
_ARRAYS = ("weight", "scale", "mask", "act", "act_scale")
T = TypeVar("T")


class StimulusError(ValueError):
    """An invalid stimulus file or object; the message names the layer and the problem."""


@dataclass(frozen=True)
class StimulusLayer:
    name: str
    n: int
    m: int
    outlier_ratio: float
    locality: float
    weight: np.ndarray  # int8 (Cout, K), pruned and quantised, zero outside `mask`
    scale: np.ndarray  # float32 (Cout,), per output channel
    mask: np.ndarray  # bool (Cout, K), n:m
    act: np.ndarray  # int8 (tokens, K)
    act_scale: float  # stored as float32 ()
    # int32 (K,): input channels in the order the core sees them (None: identity); the mask
    # is N:M in that order (mask[:, perm]), weight/mask/act stay in the original order.
    perm: np.ndarray | None = None

    @property
    def permuted(self) -> bool:
        return self.perm is not None

    def core_order(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weight, mask, act) with the input channels in the order the core sees them."""
        if self.perm is None:
            return self.weight, self.mask, self.act
        p = self.perm
        return self.weight[:, p], self.mask[:, p], self.act[:, p]


@dataclass(frozen=True)
class Stimulus:
    model: str
    source: dict = field(default_factory=dict)
    layers: list[StimulusLayer] = field(default_factory=list)


def _check_array(where: str, what: str, a: object, dtype: type, shape: tuple[int, ...]) -> None:
    if not isinstance(a, np.ndarray):
        raise StimulusError(f"{where}: {what} is a {type(a).__name__}, not a numpy array")
    if a.dtype != np.dtype(dtype):
        raise StimulusError(f"{where}: {what} has dtype {a.dtype}, expected {np.dtype(dtype)}")
    if a.shape != shape:
        raise StimulusError(f"{where}: {what} has shape {a.shape}, expected {shape}")


def _check_perm(where: str, perm: object, k: int) -> None:
    _check_array(where, "perm", perm, np.int32, (k,))
    if not np.array_equal(np.sort(perm), np.arange(k, dtype=np.int32)):
        values, counts = np.unique(perm, return_counts=True)
        missing = np.setdiff1d(np.arange(k), perm)[:5].tolist()
        raise StimulusError(
            f"{where}: perm is not a permutation of range({k}): missing {missing}, repeated "
            f"{values[counts > 1][:5].tolist()}, out of range "
            f"{values[(values < 0) | (values >= k)][:5].tolist()}"
        )


def _validate_layer(i: int, layer: StimulusLayer) -> None:
    where = f"layer {i} ({getattr(layer, 'name', '?')!r})"
    if not isinstance(layer.name, str) or not layer.name:
        raise StimulusError(f"{where}: name must be a non-empty str")
    try:
        check_nm_args(layer.n, layer.m)
    except ValueError as e:
        raise StimulusError(f"{where}: bad pattern: {e}") from None
    for what in ("outlier_ratio", "locality"):
        v = getattr(layer, what)
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise StimulusError(f"{where}: {what}={v!r} must be a finite number")
    w = layer.weight
    if not isinstance(w, np.ndarray) or w.ndim != 2 or min(w.shape) < 1:
        shape = getattr(w, "shape", None)
        raise StimulusError(f"{where}: weight must be a non-empty 2-D array, got shape {shape}")
    cout, k = w.shape
    _check_array(where, "weight", w, np.int8, (cout, k))
    _check_array(where, "scale", layer.scale, np.float32, (cout,))
    if not np.all(np.isfinite(layer.scale) & (layer.scale > 0)):
        raise StimulusError(f"{where}: scale must be finite and > 0")
    _check_array(where, "mask", layer.mask, np.bool_, (cout, k))
    act = layer.act
    if not isinstance(act, np.ndarray) or act.ndim != 2 or act.shape[0] < 1:
        shape = getattr(act, "shape", None)
        raise StimulusError(f"{where}: act must be a 2-D (tokens >= 1, K) array, got {shape}")
    _check_array(where, "act", act, np.int8, (act.shape[0], k))
    s = layer.act_scale
    if not isinstance(s, int | float | np.floating) or not (math.isfinite(s) and s > 0):
        raise StimulusError(f"{where}: act_scale={s!r} must be a finite number > 0")
    if layer.perm is not None:
        _check_perm(where, layer.perm, k)
    try:
        check_nm(layer.core_order()[1], layer.n, layer.m)
    except NMViolation as e:
        order = " in the permuted order (mask[:, perm])" if layer.perm is not None else ""
        raise StimulusError(f"{where}: mask{order} is {e}") from None
    outside = np.argwhere((w != 0) & ~layer.mask)
    if outside.size:
        r, c = (int(v) for v in outside[0])
        raise StimulusError(
            f"{where}: weight non-zero outside the mask at [{r}, {c}] ({len(outside)} such entries)"
        )


def validate_stimulus(stim: Stimulus) -> None:
    """Raise `StimulusError` unless `stim` is a valid v1 stimulus."""
    if not isinstance(stim.model, str):
        raise StimulusError(f"model must be a str, got {stim.model!r}")
    if not isinstance(stim.source, dict):
        raise StimulusError(f"source must be a dict, got {type(stim.source).__name__}")
    try:
        json.dumps(stim.source)
    except (TypeError, ValueError) as e:
        raise StimulusError(f"source is not JSON-serialisable: {e}") from None
    if not stim.layers:
        raise StimulusError("stimulus has no layers")
    seen: set[str] = set()
    for i, layer in enumerate(stim.layers):
        if not isinstance(layer, StimulusLayer):
            raise StimulusError(f"layer {i}: not a StimulusLayer")
        _validate_layer(i, layer)
        if layer.name in seen:
            raise StimulusError(f"layer {i} ({layer.name!r}): duplicate layer name")
        seen.add(layer.name)


def file_version(stim: Stimulus) -> int:
    """The version a stimulus is written as: 2 when some layer is permuted, else 1."""
    return VERSION if any(ly.perm is not None for ly in stim.layers) else VERSION_PLAIN


def _header(stim: Stimulus) -> dict:
    version = file_version(stim)
    return {
        "format": FORMAT,
        "version": version,
        "model": stim.model,
        "source": stim.source,
        "layers": [
            {
                "name": ly.name,
                "n": int(ly.n),
                "m": int(ly.m),
                "outlier_ratio": float(ly.outlier_ratio),
                "locality": float(ly.locality),
                "shape": [int(v) for v in ly.weight.shape],
                "tokens": int(ly.act.shape[0]),
            }
            | ({"permuted": ly.perm is not None} if version >= 2 else {})
            for ly in stim.layers
        ],
    }


def save_stimulus(path: Path, stim: Stimulus) -> None:
    """Validate, then write atomically (golden.files: temp file in the same folder + rename)."""
    validate_stimulus(stim)
    path = Path(path)
    arrays: dict[str, np.ndarray] = {"header": np.array(json.dumps(_header(stim)))}
    for i, ly in enumerate(stim.layers):
        arrays[f"L{i}_weight"] = ly.weight
        arrays[f"L{i}_scale"] = ly.scale
        arrays[f"L{i}_mask"] = ly.mask
        arrays[f"L{i}_act"] = ly.act
        arrays[f"L{i}_act_scale"] = np.array(ly.act_scale, dtype=np.float32)
        if ly.perm is not None:
            arrays[f"L{i}_perm"] = ly.perm
    with atomic_path(path) as tmp, tmp.open("wb") as f:
        np.savez(f, **arrays)


def _header_field(hdr: dict, key: str, kind: type | tuple[type, ...], where: str) -> object:
    if key not in hdr:
        raise StimulusError(f"{where}: header has no {key!r}")
    v = hdr[key]
    if not isinstance(v, kind) or isinstance(v, bool):
        raise StimulusError(f"{where}: header {key!r}={v!r} has the wrong type")
    return v


# Empty, truncated, text or corrupt files fail inside numpy/zipfile with EOFError, BadZipFile,
# a pickle ValueError, zlib.error, NotImplementedError (a flipped compression method or version
# field) or RuntimeError (a flipped encryption flag): each becomes a StimulusError naming the file
# (golden/tests/test_stimulus.py corrupts files at random to keep this list complete).
_UNREADABLE = (
    OSError,
    ValueError,
    EOFError,
    zipfile.BadZipFile,
    zlib.error,
    NotImplementedError,
    RuntimeError,
)


def _read(path: Path, parse: Callable[[np.lib.npyio.NpzFile, Path], T]) -> T:
    """`parse(npz, path)` on the opened file; every failure a StimulusError naming the file."""
    path = Path(path)
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise
    except _UNREADABLE as e:
        raise StimulusError(f"{path}: not a readable .npz stimulus: {e}") from None
    if not isinstance(z, np.lib.npyio.NpzFile):
        raise StimulusError(f"{path}: a single .npy array, not an .npz stimulus")
    with z:
        try:
            return parse(z, path)
        except StimulusError as e:
            text = str(e)
            raise (e if text.startswith(str(path)) else StimulusError(f"{path}: {text}")) from None
        except _UNREADABLE as e:  # pickled or corrupt members
            raise StimulusError(f"{path}: unreadable member: {e}") from None


def load_stimulus(path: Path) -> Stimulus:
    """Read and validate a stimulus file; `StimulusError` names the layer and the problem."""
    return _read(path, _parse)


def read_header(path: Path) -> dict:
    """The checked header of a stimulus file (format, version, model, source, one entry per
    layer with name, n, m, shape, tokens) without reading any layer's arrays: a quick look,
    e.g. to check a replay's patterns before a simulator builds. load_stimulus checks all."""
    return _read(path, _checked_header)


def _checked_header(z: np.lib.npyio.NpzFile, path: Path) -> dict:
    if "header" not in z.files:
        raise StimulusError(f"{path}: no 'header' array")
    h = z["header"]
    if h.shape != () or h.dtype.kind != "U":
        raise StimulusError(f"{path}: header must be a 0-d str array, got {h.dtype} {h.shape}")
    try:
        hdr = json.loads(str(h[()]))
    except json.JSONDecodeError as e:
        raise StimulusError(f"{path}: header is not JSON: {e}") from None
    if not isinstance(hdr, dict):
        raise StimulusError(f"{path}: header is not a JSON object")
    if hdr.get("format") != FORMAT:
        raise StimulusError(f"{path}: format {hdr.get('format')!r}, expected {FORMAT!r}")
    version = hdr.get("version")
    if type(version) is not int or version not in READ_VERSIONS:  # true == 1.0 == 1
        raise StimulusError(
            f"{path}: version {version!r}, this reader reads "
            + " and ".join(str(v) for v in READ_VERSIONS)
        )
    _header_field(hdr, "model", str, str(path))
    _header_field(hdr, "source", dict, str(path))
    for i, meta in enumerate(_header_field(hdr, "layers", list, str(path))):
        if not isinstance(meta, dict):
            raise StimulusError(f"layer {i}: header entry is not an object")
        where = f"layer {i} ({_header_field(meta, 'name', str, f'layer {i}')!r})"
        for key, kind in (("n", int), ("m", int), ("shape", list), ("tokens", int)):
            _header_field(meta, key, kind, where)
        for key in ("outlier_ratio", "locality"):
            _header_field(meta, key, (int, float), where)
        if "permuted" in meta:
            if version < 2:
                raise StimulusError(
                    f"{where}: 'permuted' needs format version 2, file is {version}"
                )
            if type(meta["permuted"]) is not bool:
                raise StimulusError(f"{where}: header 'permuted'={meta['permuted']!r} not a bool")
    return hdr


def _parse(z: np.lib.npyio.NpzFile, path: Path) -> Stimulus:
    hdr = _checked_header(z, path)  # every header field checked: present, of its type
    metas = hdr["layers"]
    layers = []
    for i, meta in enumerate(metas):
        where = f"layer {i} ({meta['name']!r})"
        arrays = {}
        for a in _ARRAYS:
            key = f"L{i}_{a}"
            if key not in z.files:
                raise StimulusError(f"{where}: array {key} is missing")
            arrays[a] = z[key]
        shape, tokens = meta["shape"], meta["tokens"]
        if list(arrays["weight"].shape) != shape:
            raise StimulusError(f"{where}: weight shape {arrays['weight'].shape} != header {shape}")
        if arrays["act"].shape[:1] != (tokens,):
            raise StimulusError(f"{where}: act has {arrays['act'].shape} rows, header {tokens}")
        perm = None
        if meta.get("permuted"):
            if f"L{i}_perm" not in z.files:
                raise StimulusError(f"{where}: header says permuted, array L{i}_perm is missing")
            perm = z[f"L{i}_perm"]
        act_scale = arrays["act_scale"]
        if act_scale.shape != () or act_scale.dtype != np.float32:
            raise StimulusError(
                f"{where}: act_scale must be a float32 scalar, got {act_scale.dtype}"
            )
        layers.append(
            StimulusLayer(
                name=meta["name"],
                n=meta["n"],
                m=meta["m"],
                outlier_ratio=float(meta["outlier_ratio"]),
                locality=float(meta["locality"]),
                weight=arrays["weight"],
                scale=arrays["scale"],
                mask=arrays["mask"],
                act=arrays["act"],
                act_scale=float(act_scale),
                perm=perm,
            )
        )
    known = {f"L{i}_{a}" for i in range(len(metas)) for a in _ARRAYS}
    known |= {f"L{i}_perm" for i, meta in enumerate(metas) if meta.get("permuted")}
    extra = set(z.files) - {"header"} - known
    if extra:
        raise StimulusError(f"{path}: arrays not described by the header: {sorted(extra)}")
    stim = Stimulus(model=hdr["model"], source=hdr["source"], layers=layers)
    validate_stimulus(stim)
    return stim


def synthetic_stimulus(
    rng: np.random.Generator,
    patterns: Iterable[tuple[int, int]],
    cout: int,
    k: int,
    tokens: int,
    permuted: bool = False,
) -> Stimulus:
    """A valid stimulus with one random layer per `(n, m)` (per-channel magnitude masks); with
    `permuted`, each layer gets a random input permutation and its mask is N:M in that order
    (a version 2 file)."""
    layers = []
    for i, (n, m) in enumerate(patterns):
        w = rng.standard_normal((cout, k))
        perm = rng.permutation(k).astype(np.int32) if permuted else None
        if perm is None:
            mask = nm_mask(np.abs(w), n, m)
        else:
            mask = np.empty((cout, k), dtype=bool)
            mask[:, perm] = nm_mask(np.abs(w[:, perm]), n, m)
        q, scale = quantize_per_channel(np.where(mask, w, 0.0))
        layers.append(
            StimulusLayer(
                name=f"synthetic.{i}.{n}of{m}",
                n=n,
                m=m,
                outlier_ratio=0.0,
                locality=0.0,
                weight=q,
                scale=scale,
                mask=mask,
                act=rng.integers(-128, 128, size=(tokens, k), dtype=np.int8),
                act_scale=1.0,
                perm=perm,
            )
        )
    stim = Stimulus(
        model="synthetic", source={"generator": "golden.stimulus.synthetic"}, layers=layers
    )
    validate_stimulus(stim)
    return stim
