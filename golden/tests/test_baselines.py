"""The comparison baselines' golden side (ARCHITECTURE §1, §4): dense DCiM and fixed 1:2 / 2:4.

`map_layer_fixed` maps any mask under a baseline's one hardware pattern; the structured model
with the baseline's wiring (`datapath.wired_selects`) must equal the reference matmul, and the
passes of those images must equal the cycle model's `dense_dcim_cycles` /
`fixed_pattern_cycles` (hypothesis property test).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from golden.beats import weight_beats
from golden.config import HwConfig, UnsupportedPattern, csr_error_code
from golden.cycle_model import dense_dcim_cycles, fixed_pattern_cycles, layer_cycles
from golden.datapath import layer_forward, structured_forward, wired_selects
from golden.mapper import gather_activations, map_layer, map_layer_fixed
from golden.masks import nm_mask
from golden.reference import reference_matmul

BASELINES = ("small_dense", "small_fixed12", "small_fixed24")
PAPER = ("paper_dense", "paper_fixed12", "paper_fixed24")


def _layer(
    rng: np.random.Generator, cout: int, k: int, nm: tuple[int, int] | None, t: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """int8 weights (n:m mask when nm is given, else a random ~half-dense one) and tokens."""
    w = rng.integers(-128, 128, (cout, k)).astype(np.int8)
    if nm is None:
        w[rng.random((cout, k)) < 0.5] = 0
    else:
        w[~nm_mask(rng.random((cout, k)), *nm)] = 0
    return w, rng.integers(-128, 128, (t, k)).astype(np.int8)


@pytest.mark.parametrize("name", BASELINES + PAPER)
def test_named_baselines(name: str) -> None:
    cfg = HwConfig.named(name)
    assert cfg.fixed_pattern in {(cfg.P, cfg.P), (1, 2), (2, 4)}
    assert cfg.core_kind == ("dense" if cfg.FIXED_N == cfg.FIXED_M else "fixed")
    assert cfg.has_meta == (cfg.core_kind != "dense")
    if cfg.fixed_pattern == (2, 4):
        assert cfg.G == 1, "the fixed 2:4 core keeps a per-cell pair select"


@pytest.mark.parametrize("name", BASELINES)
@pytest.mark.parametrize("nm", [None, (1, 2), (2, 4), (1, 4), (4, 8), (2, 2)])
def test_baseline_datapath_equals_reference(name: str, nm: tuple[int, int] | None) -> None:
    """Any mask: the images, run through the baseline's wiring, compute W x exactly."""
    cfg = HwConfig.named(name)
    rng = np.random.default_rng(hash((name, nm)) % 2**32)
    w, x = _layer(rng, 2 * cfg.C + 1, 37, nm)
    mapping = map_layer_fixed(w, cfg)
    want = reference_matmul(w, x, acc_bits=cfg.ACC)
    assert np.array_equal(layer_forward(mapping, x, cfg), want)
    assert np.array_equal(layer_forward(mapping, x, cfg, stages=True), want)
    for tile in mapping.tiles:  # and the beats encode (the tile's selects fit C / G)
        assert len(weight_beats(tile, cfg)) == tile.passes
    # The same images are valid FlexCiM images at the same N/M (the wiring agrees with q, b).
    flex = HwConfig(P=cfg.P, R=cfg.R, C=cfg.C, MAX_TOK=cfg.MAX_TOK, G=cfg.G)
    for tile in mapping.tiles:
        rows = gather_activations(tile, x, cfg)
        ours = structured_forward(tile, rows, cfg)
        assert np.array_equal(ours, structured_forward(tile, rows, flex))


def test_compliant_masks_run_sparse_others_dense() -> None:
    rng = np.random.default_rng(3)
    for name, nm_ok, nm_bad in (
        ("small_fixed12", (1, 2), (2, 4)),
        ("small_fixed24", (2, 4), (4, 8)),
    ):
        cfg = HwConfig.named(name)
        w_ok, _ = _layer(rng, cfg.C, 64, nm_ok)
        w_bad, _ = _layer(rng, cfg.C, 64, nm_bad)
        w_bad[0, :8] = 1  # certainly non-compliant
        ok, bad = map_layer_fixed(w_ok, cfg), map_layer_fixed(w_bad, cfg)
        assert ok.mode == "fixed" and bad.mode == "dense"
        assert ok.tiles[0].positions == ok.tiles[0].groups  # one position per group
        assert ok.effective_speedup == nm_ok[1] / nm_ok[0]
        assert bad.effective_speedup == 1.0
        assert bad.passes == [-(-64 // (cfg.P * cfg.R))]
    dense = map_layer_fixed(w_ok, HwConfig.named("small_dense"))
    assert dense.mode == "dense" and dense.effective_speedup == 1.0


def test_dense_image_places_element_k_at_slot_k() -> None:
    cfg = HwConfig.named("small_dense")
    w = np.arange(1, 33, dtype=np.int8).reshape(1, 32)  # K = 32 = 2 passes of P*R = 16
    w[0, 5] = 0  # a zero is not compressed away
    tile = map_layer_fixed(w, cfg).tiles[0]
    assert tile.passes == 2 and tile.positions == 8
    # group g = pass * R + r holds elements 4g .. 4g + 3 at sub-macros p = 0..3.
    got = tile.weight[:, :, :, 0].transpose(0, 2, 1).reshape(-1)
    assert np.array_equal(got, w[0])
    assert np.array_equal(tile.meta[0, :, 0, 0], [0, 1, 0, 1])
    assert np.array_equal(tile.q[0, :, 0], [0, 0, 1, 1])


def test_baseline_wiring_ignores_what_the_hardware_lacks() -> None:
    """A FlexCiM image with compressed slots runs wrong on the dense core: q and b are
    ignored there, so the model must show it (the RTL would compute the same wrong sum)."""
    dense, flex = HwConfig.named("small_dense"), HwConfig.named("small")
    w = np.zeros((4, 16), np.int8)
    w[:, 1::4] = 7  # only element 1 of each group: the flexible mapper puts it in slot 0, b=1
    x = np.arange(64, dtype=np.int8).reshape(4, 16)
    tile = map_layer(w, 4, 4, flex).tiles[0]
    rows = gather_activations(tile, x, flex)
    assert np.array_equal(structured_forward(tile, rows, flex), reference_matmul(w, x))
    assert not np.array_equal(structured_forward(tile, rows, dense), reference_matmul(w, x))
    q, b = wired_selects(tile.cell_q(), tile.meta, dense)
    assert np.array_equal(q[0, :, 0, 0], [0, 0, 1, 1]) and np.array_equal(
        b[0, :, 0, 0], [0, 1, 0, 1]
    )
    q12, _ = wired_selects(
        np.ones((1, 4, 4, 4), np.uint8), tile.meta, HwConfig.named("small_fixed12")
    )
    assert not q12.any()
    q24, _ = wired_selects(
        np.full((1, 4, 4, 4), 3, np.uint8), tile.meta, HwConfig.named("small_fixed24")
    )
    assert (q24 == 1).all()


def test_map_layer_refuses_a_baseline_config_and_wrong_patterns() -> None:
    cfg = HwConfig.named("small_fixed12")
    w = np.zeros((4, 8), np.int8)
    with pytest.raises(ValueError, match="map_layer_fixed"):
        map_layer(w, 1, 2, cfg)
    with pytest.raises(UnsupportedPattern):
        map_layer_fixed(w, cfg, (2, 4))
    with pytest.raises(UnsupportedPattern):
        map_layer_fixed(w, HwConfig(), (1, 4))
    with pytest.raises(ValueError, match="baseline"):
        map_layer_fixed(w, HwConfig())
    tile = map_layer_fixed(w, HwConfig.named("small"), (1, 2)).tiles[0]
    with pytest.raises(ValueError, match="code 6"):
        structured_forward(
            tile,
            gather_activations(tile, np.zeros((1, 8), np.int8), cfg),
            HwConfig.named("small_dense"),
        )


@pytest.mark.parametrize("name", BASELINES)
def test_error_code_6_only_for_other_patterns(name: str) -> None:
    cfg = HwConfig.named(name)
    n_f, m_f = cfg.fixed_pattern or (0, 0)
    assert csr_error_code(n_f, m_f, 1, 1, cfg) == 0
    others = [(n, m) for n in (1, 2, 4) for m in (2, 4, 6, 8) if n <= m and (n, m) != (n_f, m_f)]
    assert {csr_error_code(n, m, 1, 1, cfg) for n, m in others} == {6}
    assert csr_error_code(3, m_f, 1, 1, cfg) == 1  # the older codes come first
    assert csr_error_code(n_f, m_f, 0, 1, cfg) == 4
    assert csr_error_code(1, 2, 1, 1, HwConfig.named("small")) == 0  # FlexCiM: no code 6


def test_hwconfig_refuses_cores_the_rtl_does_not_build() -> None:
    for bad in ({"FIXED_N": 1, "FIXED_M": 4}, {"FIXED_N": 2, "FIXED_M": 2}, {"FIXED_N": 4}):
        with pytest.raises(ValueError, match="FIXED_N"):
            HwConfig(P=4, R=4, C=4, **bad)
    with pytest.raises(ValueError, match="G must be 1"):
        HwConfig(P=4, R=4, C=4, FIXED_N=2, FIXED_M=4)
    HwConfig(P=8, R=4, C=4, FIXED_N=8, FIXED_M=8)
    HwConfig(P=2, R=4, C=4, G=1, FIXED_N=2, FIXED_M=4)


@settings(derandomize=True, deadline=None, max_examples=60)
@given(
    p_log=st.integers(1, 3),
    r_log=st.integers(1, 4),
    c=st.integers(1, 9),
    cout=st.integers(1, 20),
    k=st.integers(1, 300),
    tokens=st.integers(1, 9),
    density=st.floats(0.0, 1.0),
    nm=st.sampled_from([None, (1, 2), (2, 4), (1, 4), (2, 8)]),
    seed=st.integers(0, 2**16),
)
def test_cycle_model_equals_the_passes_of_the_baseline_images(
    p_log: int,
    r_log: int,
    c: int,
    cout: int,
    k: int,
    tokens: int,
    density: float,
    nm: tuple[int, int] | None,
    seed: int,
) -> None:
    """dense_dcim_cycles / fixed_pattern_cycles == layer_cycles of map_layer_fixed's images,
    compliant or not, any geometry (the cycle model's passes are the images' passes)."""
    cfg = HwConfig(P=1 << p_log, R=1 << r_log, C=c, MAX_TOK=4)
    rng = np.random.default_rng(seed)
    w = (rng.random((cout, k)) < density).astype(np.int8)
    if nm is not None:
        w[~nm_mask(rng.random((cout, k)), *nm)] = 0
    dense = map_layer_fixed(w, cfg, (cfg.P, cfg.P))
    assert layer_cycles(dense, tokens, cfg) == dense_dcim_cycles(cout, k, tokens, cfg)
    for n_f, m_f in ((1, 2), (2, 4)):
        fixed = map_layer_fixed(w, cfg, (n_f, m_f))
        want = fixed_pattern_cycles(w != 0, n_f, m_f, tokens, cfg)
        assert layer_cycles(fixed, tokens, cfg) == want
