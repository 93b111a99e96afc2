"""What a layer costs a core in jobs, cycles and token issues (the composition's counts).

Pure functions over layer shapes; silicon.compose_paper applies them to the layers of a
characterisation run, of the paper-size slice and of the whole replay model
(silicon.model_layers). Cycles are golden.cycle_model's, which the RTL matches cycle for cycle
(the replays); passes per column tile come from the shape where the shape decides them (FlexCiM
at G = 1, the baselines), else from the layer's masks (FlexCiM at G > 1: `LayerShape.passes`,
golden.mapper's count).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from golden.config import HwConfig
from golden.cycle_model import (
    always_compliant,
    dense_passes,
    fixed_pattern_passes,
    jobs_cycles,
    token_chunks,
)
from silicon.compose import CompositionError

PassGeometry = tuple[int, int, int, int]  # (P, R, C, G): all a mask's pass count depends on


def pass_geometry(cfg: HwConfig) -> PassGeometry:
    return (cfg.P, cfg.R, cfg.C, cfg.sel_width)


def mask_dependent(cfg: HwConfig) -> bool:
    """FlexCiM with a select shared by G > 1 columns: passes depend on how the G columns'
    masks overlap, which no shape tells."""
    return cfg.fixed_pattern is None and cfg.sel_width != 1


@dataclass(frozen=True)
class LayerShape:
    name: str
    n: int
    m: int
    cout: int
    k: int
    tokens: int
    # pass_geometry -> passes of each column tile, where they depend on the masks (golden.mapper
    # on the layer's own weight); only mask-dependent geometries need an entry.
    passes: Mapping[PassGeometry, tuple[int, ...]] = field(default_factory=dict, compare=False)

    @property
    def useful_macs(self) -> float:
        """tokens x non-zeros, for a mask with exactly n of every m (the extract's masks
        have at most 8 fewer non-zeros per layer)."""
        return self.tokens * self.cout * self.k * self.n / self.m


@dataclass(frozen=True)
class LayerWork:
    jobs: int
    job_cycles: int
    issues: int  # sum over jobs of passes x tokens


def tile_passes(layer: LayerShape, cfg: HwConfig) -> int:
    """Passes of one column tile, where the shape decides them. FlexCiM at G = 1 runs a
    row-wise n:m mask at the pattern's own rate; a baseline runs its fixed pattern on a layer
    whose every mask complies (golden.cycle_model.always_compliant: 2:8 on a 2:4 core), else
    dense (a 4:8 or 4:6 mask complies with 1:2 or 2:4 only by chance; the replay's
    mask-level check found none);
    FlexCiM at G > 1 is refused (`passes_per_tile` takes its passes from the masks)."""
    sparse = layer.n < layer.m
    fixed = cfg.fixed_pattern
    if fixed is None:
        if mask_dependent(cfg):
            raise CompositionError(
                f"G={cfg.sel_width}: FlexCiM passes at G > 1 depend on the masks "
                "(LayerShape.passes)"
            )
        if sparse:
            return fixed_pattern_passes(layer.k, layer.n, layer.m, cfg)
        return dense_passes(layer.k, cfg)
    n_f, m_f = fixed
    if sparse and n_f < m_f and always_compliant(layer.n, layer.m, n_f, m_f):
        return fixed_pattern_passes(layer.k, n_f, m_f, cfg)
    return dense_passes(layer.k, cfg)


def passes_per_tile(layer: LayerShape, cfg: HwConfig) -> list[int]:
    """Passes of every column tile of `layer` at `cfg`; CompositionError naming the layer and
    geometry when they depend on masks the shape does not carry."""
    tiles = -(-layer.cout // cfg.C)
    if not mask_dependent(cfg):
        return [tile_passes(layer, cfg)] * tiles
    got = layer.passes.get(pass_geometry(cfg))
    if got is None:
        raise CompositionError(
            f"{layer.name}: passes at P, R, C, G = {pass_geometry(cfg)} depend on the masks, "
            "and the layer carries none for it (silicon.model_layers records them)"
        )
    if len(got) != tiles:
        raise CompositionError(f"{layer.name}: {len(got)} tiles' passes for {tiles} tiles")
    return list(got)


def layer_work(layer: LayerShape, cfg: HwConfig) -> LayerWork:
    """Jobs, cycle-model cycles and token issues of a layer at `cfg` (every column tile x every
    MAX_TOK chunk of tokens)."""
    passes = passes_per_tile(layer, cfg)
    cycles = jobs_cycles(passes, layer.tokens, cfg).total
    chunks = token_chunks(layer.tokens, cfg)
    return LayerWork(len(passes) * len(chunks), cycles, sum(passes) * layer.tokens)


def with_full_size(shapes: list[LayerShape], model: Mapping[str, LayerShape]) -> list[LayerShape]:
    """Each of `shapes` (an extract's layers: a few output channels and tokens) at the full size
    of the layer of the same name in `model`: its Cout and tokens, the extract's n:m, and the
    model's mask-dependent passes where the two agree on n:m (else none: the extract comes
    from another pruning of the model). A layer the model lacks, or of another K, is a
    CompositionError naming it."""
    out = []
    for s in shapes:
        full = model.get(s.name)
        if full is None:
            raise CompositionError(f"{s.name}: not a layer of the model's table")
        if full.k != s.k:
            raise CompositionError(f"{s.name}: extract K={s.k}, model table K={full.k}")
        same = (full.n, full.m) == (s.n, s.m)
        passes = full.passes if same else {}
        out.append(LayerShape(s.name, s.n, s.m, full.cout, s.k, full.tokens, passes))
    return out
