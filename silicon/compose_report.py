"""Markdown of silicon.compose_paper's result: validation on mid, paper-size table."""

from __future__ import annotations

from golden.config import HwConfig
from silicon.blocks import ORDER


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:+.1f}%"


def markdown(result: dict) -> str:
    out = [
        "# Paper-size energy, composed from small flat gate-level runs",
        "",
        "## Validation: mid designs composed from small runs vs their own flat runs",
        "",
        "| small -> mid | rule | cycles (composed / simulated) | pJ/useful MAC composed "
        "| measured | total error |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for v in result["validation"]:
        out.append(
            f"| {v['source']} -> {v['target']} | {v['rule']} | "
            f"{v['cycles']:,.0f} / {v['measured_sim_cycles']:,} | "
            f"{v['predicted_pj_per_useful_mac']:.1f} | {v['pj_per_useful_mac']:.1f} | "
            f"**{_pct(v['relative_error'])}** |"
        )
    for v in result["validation"]:
        out += [
            "",
            f"{v['source']} -> {v['target']}, rule `{v['rule']}` (pJ, whole run):",
            "",
            "| block | composed | measured | error |",
            "|---|---:|---:|---:|",
        ]
        for block in ORDER:
            if block not in v["blocks"]:
                continue
            b = v["blocks"][block]
            out.append(
                f"| {block} | {b['predicted_j'] * 1e12:,.0f} | {b['measured_j'] * 1e12:,.0f} "
                f"| {_pct(b['relative_error'])} |"
            )
    out += paper_tables(result)
    return "\n".join(out) + "\n"


def label(row: dict) -> str:
    return f"{row['target']} (own model)" if row.get("own_model") else row["target"]


def ref_key(design: str) -> tuple[int, bool]:
    """(RPB, whether the design is FlexCiM at G = 1): each row compares with the FlexCiM G = 1
    core of its own interface."""
    cfg = HwConfig.named(design)
    return cfg.RPB, cfg.fixed_pattern is None and cfg.sel_width == 1


def paper_tables(result: dict) -> list[str]:
    """The paper-size slice and whole-model tables (also part of make energy's energy.md)."""
    paper = result["paper"]
    refs = {ref_key(p["target"]): p for p in paper if ref_key(p["target"])[1]}
    name = "FlexCiM G = 1, same RPB"

    def ref_of(row: dict) -> dict | None:
        return refs.get((ref_key(row["target"])[0], True))

    tokens = ", ".join(str(t) for t in result["paper_tokens"])
    table = result["model_table"]
    out = [
        "",
        f"## Paper size (rule `{result['rule']}`, full SmolLM2 shapes of the slice's layers, "
        f"{tokens} tokens)",
        "",
        f"| design | from | cells | um^2 | job cycles | pJ / useful MAC | error bar | / {name} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    missing = [p for p in paper if "slice_missing" in p]
    paper = [p for p in paper if "slice_missing" not in p]
    for p in paper:
        ref = ref_of(p)
        ratio = p["pj_per_useful_mac"] / ref["pj_per_useful_mac"] if ref else None
        out.append(
            f"| {label(p)} | {p['source']} | {p['cells']:,} | {p['area_um2']:,.0f} | "
            f"{p['job_cycles']:,} | **{p['pj_per_useful_mac']:.1f}** | "
            f"+-{100 * p['error_bar']:.1f}% ({p['error_from']}) | "
            f"{'' if ratio is None else f'{ratio:.2f}x'} |"
        )
    out += [
        f"| {p['target']} | {p['source']} | - | - | - | - | - | not on the slice: "
        f"{p['slice_missing']} |"
        for p in missing
    ]
    out += ["", "By block (pJ / useful MAC):", ""]
    out.append("| block | " + " | ".join(label(p) for p in paper) + " |")
    out.append("|---|" + "---:|" * len(paper))
    for block in ORDER:
        if not any(block in p["blocks"] for p in paper):
            continue
        cells = [
            f"{p['blocks'][block] * 1e12 / p['useful_macs']:.1f}" if block in p["blocks"] else "-"
            for p in paper
        ]
        out.append(f"| {block} | " + " | ".join(cells) + " |")
    src = table.get("stimulus_source") or {}
    ppl = src.get("perplexity")
    out += [
        "",
        f"## Whole model, paper size ({table['layers']} layers of the replay model"
        + (f", {src.get('method')}, perplexity {ppl:.2f}" if ppl else "")
        + ")",
        "",
        "Every sublayer at its full shape and the replay's tokens (silicon.model_layers' table "
        f"of stimulus {table['stimulus_sha256'][:12]}); activity per issue and per cycle "
        "characterised on the slice. Job cycles are golden.cycle_model's, which the replay "
        "matches in RTL.",
        "",
        "A fixed-pattern core runs FlexCiM's model dense wherever a layer's pattern is not "
        "always compliant with its own (golden.cycle_model.always_compliant); `(own model)` "
        "rows run the uniform model of the core's pattern, every layer at its rate.",
        "",
        f"| design | model | perplexity | mm^2 | job cycles | cycles / {name} | energy (uJ) "
        f"| pJ / useful MAC | / {name} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for p in result["paper"]:
        m = p["model"]
        rm = ref_of(p)["model"] if ref_of(p) else None
        c = f"{m['job_cycles'] / rm['job_cycles']:.2f}x" if rm else ""
        e = f"{m['pj_per_useful_mac'] / rm['pj_per_useful_mac']:.2f}x" if rm else ""
        ppl = p.get("perplexity")
        out.append(
            f"| {label(p)} | {p.get('model_name', '')} | {'-' if ppl is None else f'{ppl:.2f}'} "
            f"| {p['area_um2'] / 1e6:,.1f} | {m['job_cycles']:,} | {c} | "
            f"{m['joules'] * 1e6:,.1f} | **{m['pj_per_useful_mac']:.1f}** | {e} |"
        )
    every = result["paper"]
    out += ["", "Whole model by block (pJ / useful MAC):", ""]
    out.append("| block | " + " | ".join(label(p) for p in every) + " |")
    out.append("|---|" + "---:|" * len(every))
    for block in ORDER:
        if not any(block in p["model"]["blocks"] for p in every):
            continue
        cells = [
            f"{p['model']['blocks'][block] * 1e12 / p['model']['useful_macs']:.1f}"
            if block in p["model"]["blocks"]
            else "-"
            for p in every
        ]
        out.append(f"| {block} | " + " | ".join(cells) + " |")
    return out + block_table(result)


def block_table(result: dict) -> list[str]:
    """Per decoder block (its sublayers summed) at the recommended interface (the largest RPB
    composed): FlexCiM G = 1's cycles and energy, and each baseline's ratios to it."""
    rows = [p for p in result["paper"] if not p.get("own_model") and "layers" in p["model"]]
    if not rows:
        return []
    rpb = max(HwConfig.named(p["target"]).RPB for p in rows)
    same = [p for p in rows if rpb == HwConfig.named(p["target"]).RPB]
    ref = next((p for p in same if ref_key(p["target"])[1]), None)
    if ref is None:
        return []
    others = [p for p in same if p is not ref]

    def by_block(row: dict) -> dict[str, list[dict]]:
        out: dict[str, list[dict]] = {}
        for ly in row["model"]["layers"]:
            out.setdefault(ly["layer"].split(".")[0], []).append(ly)
        return out

    ref_blocks = by_block(ref)
    other_blocks = [by_block(p) for p in others]
    out = [
        "",
        f"Whole model per decoder block, RPB = {rpb} ({ref['target']}; each baseline's energy "
        "and cycles over it). Composed from mean rates per issue and cycle, so blocks of one "
        "pattern compose alike; the data-dependent spread between layers of one shape is the "
        "small runs' (energy.md's per-layer table, a few per cent). Every layer: compose.json.",
        "",
        "| block | pattern | job cycles | energy (uJ) | "
        + " | ".join(f"{p['target']} energy / cycles" for p in others)
        + " |",
        "|---|---|---:|---:|" + "---:|" * len(others),
    ]
    for block, layers in ref_blocks.items():
        cycles = sum(ly["job_cycles"] for ly in layers)
        joules = sum(ly["joules"] for ly in layers)
        ratios = []
        for ob in other_blocks:
            o = ob[block]
            ratios.append(
                f"{sum(ly['joules'] for ly in o) / joules:.2f}x / "
                f"{sum(ly['job_cycles'] for ly in o) / cycles:.2f}x"
            )
        patterns = ", ".join(sorted({ly["pattern"] for ly in layers}))
        head = f"| {block} | {patterns} | {cycles:,} | {joules * 1e6:,.2f} | "
        out.append(head + " | ".join(ratios) + " |")
    return out
