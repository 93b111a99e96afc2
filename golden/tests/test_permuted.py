"""Permuted layers (issue 18, lever 2): stimulus format v2 with `L{i}_perm`, validation, and the
mapper / activation gather / golden datapath in the permuted order against y = W x."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from golden.config import HwConfig
from golden.datapath import layer_forward, structured_forward
from golden.mapper import gather_activations, map_layer
from golden.masks import nm_mask
from golden.nm_format import NMViolation, quantize_per_channel
from golden.reference import reference_matmul
from golden.stimulus import (
    StimulusError,
    load_stimulus,
    read_header,
    save_stimulus,
    synthetic_stimulus,
    validate_stimulus,
)


def _stim(permuted: bool = True):
    return synthetic_stimulus(
        np.random.default_rng(5), [(2, 4), (1, 8), (2, 6)], 12, 48, 3, permuted=permuted
    )


def _with(stim, i: int, **change):
    layers = list(stim.layers)
    layers[i] = dataclasses.replace(layers[i], **change)
    return dataclasses.replace(stim, layers=layers)


def test_permuted_round_trip_is_version_2_and_plain_stays_version_1(tmp_path: Path) -> None:
    stim = _stim()
    for ly in stim.layers:
        assert ly.perm is not None and ly.perm.dtype == np.int32
        assert not _is_nm(ly.mask, ly.n, ly.m), "a random permutation should break plain N:M"
    path = tmp_path / "p.npz"
    save_stimulus(path, stim)
    assert read_header(path)["version"] == 2
    assert all(meta["permuted"] for meta in read_header(path)["layers"])
    back = load_stimulus(path)
    for a, b in zip(stim.layers, back.layers, strict=True):
        assert np.array_equal(a.perm, b.perm) and np.array_equal(a.mask, b.mask)
    plain = tmp_path / "v1.npz"
    save_stimulus(plain, _stim(permuted=False))
    hdr = read_header(plain)
    assert hdr["version"] == 1 and all("permuted" not in meta for meta in hdr["layers"])
    with np.load(plain) as z:
        assert not any(name.endswith("_perm") for name in z.files)


def _is_nm(mask: np.ndarray, n: int, m: int) -> bool:
    k = mask.shape[1]
    pad = np.pad(mask, [(0, 0), (0, -k % m)])
    return bool((pad.reshape(mask.shape[0], -1, m).sum(-1) <= n).all())


@pytest.mark.parametrize(
    ("layer", "perm", "message"),
    [
        (0, np.arange(48, dtype=np.int64), "perm has dtype int64, expected int32"),
        (1, np.arange(47, dtype=np.int32), r"perm has shape \(47,\)"),
        (2, np.zeros(48, np.int32), r"perm is not a permutation of range\(48\): missing \[1, 2, 3"),
        (1, np.arange(1, 49, dtype=np.int32), r"perm .*missing \[0\], .*out of range \[48\]"),
    ],
)
def test_bad_permutation_names_the_layer(layer: int, perm: np.ndarray, message: str) -> None:
    stim = _stim()
    name = stim.layers[layer].name
    with pytest.raises(StimulusError, match=f"layer {layer} \\('{name}'\\): {message}"):
        validate_stimulus(_with(stim, layer, perm=perm))


def test_mask_must_be_nm_in_the_permuted_order() -> None:
    stim = _stim()
    ly = stim.layers[1]
    # The identity order is not the permuted one: the layer's mask is not 1:8 there.
    with pytest.raises(StimulusError, match=r"layer 1 .*mask in the permuted order .* is not 1:8"):
        validate_stimulus(_with(stim, 1, perm=np.roll(ly.perm, 1)))


def test_v1_file_with_a_perm_array_and_v2_without_it_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    save_stimulus(path, _stim())
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    hdr = json.loads(str(arrays["header"][()]))
    v1 = {**hdr, "version": 1, "layers": [{**meta} for meta in hdr["layers"]]}
    for meta in v1["layers"]:
        del meta["permuted"]
    bad = tmp_path / "v1_with_perm.npz"
    np.savez(bad, **{**arrays, "header": np.array(json.dumps(v1))})
    with pytest.raises(StimulusError, match="arrays not described by the header"):
        load_stimulus(bad)
    missing = tmp_path / "v2_without_perm.npz"
    np.savez(missing, **{k: v for k, v in arrays.items() if k != "L2_perm"})
    with pytest.raises(StimulusError, match=r"layer 2 .*permuted, array L2_perm is missing"):
        load_stimulus(missing)
    claim = {**hdr, "version": 1}
    flagged = tmp_path / "v1_flag.npz"
    np.savez(flagged, **{**arrays, "header": np.array(json.dumps(claim))})
    with pytest.raises(StimulusError, match="'permuted' needs format version 2"):
        load_stimulus(flagged)


@pytest.mark.parametrize("config", ["small", "default"])
@pytest.mark.parametrize("mode", ["pair-shared", "per-column"])
@pytest.mark.parametrize(("n", "m"), [(1, 4), (2, 8), (2, 6), (4, 8)])
def test_permuted_layer_maps_and_datapath_equals_reference(
    config: str, mode: str, n: int, m: int
) -> None:
    """A tiny layer whose mask is N:M only in a permuted order maps (with the permutation),
    and the golden datapath from the tile images and the permuted gather equals W x."""
    cfg = HwConfig.named(config)
    if m > 2 * cfg.P or ((n, m) == (2, 6) and cfg.P < 4):
        pytest.skip(f"{n}:{m} does not run at P={cfg.P}")
    rng = np.random.default_rng(n * 10 + m)
    cout, k, t = cfg.C + 3, 5 * m + 2, 4
    perm = rng.permutation(k)
    w = rng.standard_normal((cout, k))
    mask = np.empty((cout, k), bool)
    mask[:, perm] = nm_mask(np.abs(w[:, perm]), n, m)
    q, _ = quantize_per_channel(np.where(mask, w, 0.0))
    x = rng.integers(-128, 128, size=(t, k), dtype=np.int8)
    with pytest.raises(NMViolation):
        map_layer(q, n, m, cfg, mode=mode)  # not N:M in the original order
    mapping = map_layer(q, n, m, cfg, mode=mode, perm=perm)
    ref = reference_matmul(q, x, acc_bits=cfg.ACC)
    assert np.array_equal(layer_forward(mapping, x, cfg), ref)
    for tile in mapping.tiles:
        rows = gather_activations(tile, x, cfg)
        cols = slice(tile.col_start, tile.col_start + tile.cols)
        assert np.array_equal(structured_forward(tile, rows, cfg)[:, : tile.cols], ref[:, cols])
    with pytest.raises(ValueError, match="not a permutation"):
        map_layer(q, n, m, cfg, mode=mode, perm=np.zeros(k, int))
