"""Stimulus file: round trip, validation errors naming layer and problem, atomic save."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from golden.nm_format import check_nm
from golden.stimulus import (
    Stimulus,
    StimulusError,
    load_stimulus,
    save_stimulus,
    synthetic_stimulus,
    validate_stimulus,
)


def _stim() -> Stimulus:
    return synthetic_stimulus(np.random.default_rng(1), [(2, 4), (1, 8), (8, 8)], 12, 40, 3)


def _with_layer(stim: Stimulus, i: int, **changes: object) -> Stimulus:
    layers = list(stim.layers)
    layers[i] = dataclasses.replace(layers[i], **changes)
    return dataclasses.replace(stim, layers=layers)


def test_synthetic_is_valid() -> None:
    stim = _stim()
    assert [(ly.n, ly.m) for ly in stim.layers] == [(2, 4), (1, 8), (8, 8)]
    for ly in stim.layers:
        assert ly.weight.shape == (12, 40) and ly.act.shape == (3, 40)
        check_nm(ly.weight, ly.n, ly.m)
        assert np.count_nonzero(ly.weight) > 0


def test_round_trip(tmp_path: Path) -> None:
    stim = _stim()
    path = tmp_path / "s.npz"
    save_stimulus(path, stim)
    back = load_stimulus(path)
    assert back.model == stim.model and back.source == stim.source
    for a, b in zip(stim.layers, back.layers, strict=True):
        assert (a.name, a.n, a.m, a.outlier_ratio, a.locality) == (
            b.name,
            b.n,
            b.m,
            b.outlier_ratio,
            b.locality,
        )
        for f in ("weight", "scale", "mask", "act"):
            x, y = getattr(a, f), getattr(b, f)
            assert x.dtype == y.dtype and np.array_equal(x, y)
        assert a.act_scale == b.act_scale
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]  # no temp file left


@pytest.mark.parametrize(
    ("layer", "change", "message"),
    [
        (1, {"weight": np.zeros((12, 40), np.int16)}, "weight has dtype int16"),
        (0, {"scale": np.ones(11, np.float32)}, r"scale has shape \(11,\)"),
        (0, {"scale": np.zeros(12, np.float32)}, "scale must be finite and > 0"),
        (0, {"mask": np.ones((12, 40), bool)}, "mask is not 2:4: row 0, group 0"),
        (1, {"act": np.zeros((3, 41), np.int8)}, r"act has shape \(3, 41\)"),
        (1, {"act": np.zeros((3, 40), np.float32)}, "act has dtype float32"),
        (0, {"n": 5}, "bad pattern"),
        (2, {"act_scale": float("nan")}, "act_scale"),
        (2, {"locality": float("inf")}, "locality"),
    ],
)
def test_validation_names_layer(layer: int, change: dict, message: str) -> None:
    stim = _with_layer(_stim(), layer, **change)
    name = stim.layers[layer].name
    with pytest.raises(StimulusError, match=f"layer {layer} \\('{name}'\\).*{message}"):
        validate_stimulus(stim)


def test_weight_outside_mask() -> None:
    stim = _stim()
    ly = stim.layers[0]
    mask = ly.mask.copy()
    r, c = np.argwhere(ly.weight != 0)[0]
    mask[r, c] = False
    with pytest.raises(StimulusError, match=f"outside the mask at \\[{r}, {c}\\]"):
        validate_stimulus(_with_layer(stim, 0, mask=mask))


def test_duplicate_names_and_empty() -> None:
    stim = _stim()
    with pytest.raises(StimulusError, match="duplicate"):
        validate_stimulus(_with_layer(stim, 1, name=stim.layers[0].name))
    with pytest.raises(StimulusError, match="no layers"):
        validate_stimulus(dataclasses.replace(stim, layers=[]))


def test_save_never_writes_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    good = _stim()
    save_stimulus(path, good)
    before = path.read_bytes()
    bad = _with_layer(good, 0, mask=np.ones((12, 40), bool))
    with pytest.raises(StimulusError):
        save_stimulus(path, bad)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]


def _rewrite(path: Path, **edits: object) -> None:
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays.update(edits)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def test_load_errors(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    save_stimulus(path, _stim())
    with np.load(path, allow_pickle=False) as z:
        hdr = json.loads(str(z["header"][()]))
    cases = [
        ({"header": np.array(json.dumps({**hdr, "version": 3}))}, "version 3"),
        ({"header": np.array(json.dumps({**hdr, "format": "x"}))}, "format 'x'"),
        ({"header": np.array("{not json")}, "not JSON"),
        ({"L1_mask": None}, r"layer 1 \('synthetic.1.1of8'\): array L1_mask is missing"),
        ({"L0_act_scale": np.ones(2, np.float32)}, "act_scale must be a float32 scalar"),
        ({"L2_weight": np.zeros((12, 41), np.int8)}, "weight shape"),
        ({"L3_weight": np.zeros(1, np.int8)}, "not described by the header"),
        ({"L0_mask": np.ones((12, 40), bool)}, r"layer 0 .*mask is not 2:4"),
    ]
    for edit, message in cases:
        save_stimulus(path, _stim())
        _rewrite(path, **edit)
        with pytest.raises(StimulusError, match=message):
            load_stimulus(path)


def test_load_refuses_pickle_and_garbage(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    save_stimulus(path, _stim())
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["L0_weight"] = np.array([{"evil": 1}], dtype=object)
    np.savez(path, **arrays)
    with pytest.raises(StimulusError):
        load_stimulus(path)
    path.write_bytes(b"not a zip")
    with pytest.raises(StimulusError, match="not a readable"):
        load_stimulus(path)


def _corrupt_member(data: bytes) -> bytes:
    """Flip one byte inside the first member's compressed/stored data (CRC then fails)."""
    out = bytearray(data)
    name_len = int.from_bytes(out[26:28], "little")
    extra_len = int.from_bytes(out[28:30], "little")
    out[30 + name_len + extra_len + 20] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize("kind", ["empty", "text", "truncated", "crc"])
def test_unreadable_files_name_the_file(tmp_path: Path, kind: str) -> None:
    """Every unreadable file raises StimulusError naming it, never a raw zipfile/EOF error."""
    path = tmp_path / f"{kind}.npz"
    save_stimulus(path, _stim())
    data = path.read_bytes()
    path.write_bytes(
        {
            "empty": b"",
            "text": b"layer,n,m\nq_proj,2,4\n",
            "truncated": data[: len(data) // 2],
            "crc": _corrupt_member(data),
        }[kind]
    )
    with pytest.raises(StimulusError, match=str(path)):
        load_stimulus(path)


def test_saved_file_mode_follows_umask(tmp_path: Path) -> None:
    """Atomic save goes through mkstemp (0600); the final file must be readable like any other."""
    stim = synthetic_stimulus(np.random.default_rng(3), [(2, 4)], cout=4, k=8, tokens=2)
    path = tmp_path / "s.npz"
    umask = os.umask(0o022)
    try:
        save_stimulus(path, stim)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644


# --- corrupted files, generated: the reader refuses each cleanly (issue 20) --------------------
# Every corruption below must end in a StimulusError naming the file (never another exception, a
# traceback or a hang), or, for a flipped byte that only touches zip metadata the reader never
# uses (a timestamp, an attribute), in the original stimulus, unchanged.

_GOOD = synthetic_stimulus(np.random.default_rng(5), [(2, 4), (1, 8)], cout=6, k=16, tokens=2)


@dataclasses.dataclass(frozen=True)
class _File:
    path: Path  # where each corrupted copy is written
    data: bytes = dataclasses.field(repr=False)  # the good file's bytes


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> _File:
    folder = tmp_path_factory.mktemp("corrupt")
    save_stimulus(folder / "good.npz", _GOOD)
    return _File(folder / "c.npz", (folder / "good.npz").read_bytes())


@contextmanager
def _limit(seconds: int) -> Iterator[None]:
    """Fail instead of hanging: SIGALRM after `seconds`."""

    def stop(_sig: int, _frame: object) -> None:
        raise TimeoutError(f"load_stimulus still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def _same(a: Stimulus, b: Stimulus) -> bool:
    return (a.model, a.source) == (b.model, b.source) and all(
        (x.name, x.n, x.m, x.act_scale) == (y.name, y.n, y.m, y.act_scale)
        and all(np.array_equal(getattr(x, f), getattr(y, f)) for f in ("weight", "mask", "act"))
        for x, y in zip(a.layers, b.layers, strict=True)
    )


def _refused_or_intact(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    with _limit(10):
        try:
            back = load_stimulus(path)
        except StimulusError as e:
            assert str(path) in str(e), e
            return "refused"
    assert _same(back, _GOOD), "a corrupted file loaded as a different stimulus"
    return "intact"


_SETTINGS = settings(deadline=None, max_examples=150, derandomize=True)


@_SETTINGS
@given(cut=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_file_is_refused(good_file: _File, cut: float) -> None:
    path, data = good_file.path, good_file.data
    assert _refused_or_intact(path, data[: int(cut * len(data))]) == "refused"


@_SETTINGS
@given(flips=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(1, 255)),
                      min_size=1, max_size=4))  # fmt: skip
def test_flipped_bytes_are_refused_or_harmless(
    good_file: _File, flips: list[tuple[float, int]]
) -> None:
    path, data = good_file.path, good_file.data
    out = bytearray(data)
    for where, mask in flips:
        out[int(where * len(out))] ^= mask
    _refused_or_intact(path, bytes(out))


def _header_of(data: bytes, path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    path.write_bytes(data)
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    return json.loads(str(arrays.pop("header")[()])), arrays


def _write(path: Path, header: dict, arrays: dict[str, np.ndarray]) -> bytes:
    with path.open("wb") as f:
        np.savez(f, header=np.array(json.dumps(header)), **arrays)
    return path.read_bytes()


_NOT_ONE = st.one_of(
    st.integers().filter(lambda v: v != 1),
    st.just(True),
    st.just(1.0),
    st.just("1"),
    st.none(),
    st.lists(st.integers(), max_size=2),
)


@_SETTINGS
@given(version=_NOT_ONE)
def test_wrong_version_is_refused(good_file: _File, version: object) -> None:
    path, data = good_file.path, good_file.data
    header, arrays = _header_of(data, path)
    assert (
        _refused_or_intact(path, _write(path, {**header, "version": version}, arrays)) == "refused"
    )


@_SETTINGS
@given(
    layer=st.integers(0, 1),
    what=st.sampled_from(["weight", "scale", "mask", "act", "act_scale", "shape", "tokens"]),
    shape=st.lists(st.integers(0, 20), min_size=0, max_size=3),
)
def test_shapes_that_disagree_are_refused(
    good_file: _File, layer: int, what: str, shape: list[int]
) -> None:
    """An array of another shape than the header and the other arrays say, or a header whose
    shape / tokens disagree with the arrays."""
    path, data = good_file.path, good_file.data
    header, arrays = _header_of(data, path)
    if what in ("shape", "tokens"):
        entry = header["layers"][layer]
        value = shape if what == "shape" else (shape[0] if shape else 0)
        assume(value != entry[what])
        header["layers"][layer] = {**entry, what: value}
    else:
        old = arrays[f"L{layer}_{what}"]
        assume(tuple(shape) != old.shape)
        arrays[f"L{layer}_{what}"] = np.zeros(shape, old.dtype)
    assert _refused_or_intact(path, _write(path, header, arrays)) == "refused"
