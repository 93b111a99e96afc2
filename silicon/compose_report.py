"""Markdown of silicon.compose_paper's result: validation on mid, paper-size table."""

from __future__ import annotations

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
    paper = result["paper"]
    ref = next((p for p in paper if p["target"] == "paper_g1"), None)
    out += [
        "",
        f"## Paper size (rule `{result['rule']}`, full SmolLM2 shapes of the same layers, "
        f"{result['paper_tokens']} tokens)",
        "",
        "| design | from | cells | um^2 | cycles | pJ / useful MAC | error bar | / paper_g1 |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for p in paper:
        ratio = p["pj_per_useful_mac"] / ref["pj_per_useful_mac"] if ref else None
        out.append(
            f"| {p['target']} | {p['source']} | {p['cells']:,} | {p['area_um2']:,.0f} | "
            f"{p['cycles']:,.0f} | **{p['pj_per_useful_mac']:.1f}** | "
            f"+-{100 * p['error_bar']:.1f}% | {'' if ratio is None else f'{ratio:.2f}x'} |"
        )
    out += ["", "By block (pJ / useful MAC):", ""]
    out.append("| block | " + " | ".join(p["target"] for p in paper) + " |")
    out.append("|---|" + "---:|" * len(paper))
    for block in ORDER:
        if not any(block in p["blocks"] for p in paper):
            continue
        cells = [
            f"{p['blocks'][block] * 1e12 / p['useful_macs']:.1f}" if block in p["blocks"] else "-"
            for p in paper
        ]
        out.append(f"| {block} | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
