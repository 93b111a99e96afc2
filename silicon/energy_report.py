"""build/energy/energy.md and energy.png from silicon.energy_flow's result (pure formatting)."""

from __future__ import annotations

from pathlib import Path

from golden.config import HwConfig

MODEL_NOTE = (
    "Zero-delay gate-level simulation (Verilator toggle coverage): glitches are not counted. "
    "Switching energy 1/2 C V^2 per toggle with C the driven pins' Liberty capacitance, no "
    "wire load; internal energy from the Liberty internal_power tables (arcs of an output "
    "averaged, one-level slews, nominal 0.1 ns input transition); leakage x simulated time. "
    "Energy covers the whole simulation: jobs, CSR programming and the idle cycles between "
    "jobs. Useful MAC = a MAC with a non-zero weight (the layer's real work); dense MAC = "
    "Cout x K x tokens."
)


def _pj(j: float) -> str:
    return f"{j * 1e12:,.1f}"


def markdown(result: dict, order: list[str]) -> str:
    rows = result["designs"]
    wl = result["workload"]
    lines = [
        "# Gate-level energy per MAC (make energy)",
        "",
        f"Workload: {wl['file']} ({wl['model']}; {len(wl['layers'])} layers: "
        f"{', '.join(wl['layers'][:4])}{' ...' if len(wl['layers']) > 4 else ''}); extract of "
        f"`{wl['source']}` (sha256 {wl['source_sha256'][:16]}...). Library: {result['liberty']}.",
        "",
        MODEL_NOTE,
        "",
        "| design | cells | area (mm^2) | jobs | useful MACs | dense MACs | sim cycles | "
        "job cycles | energy (nJ) | pJ / useful MAC | pJ / dense MAC | mean activity | "
        "stability: change over last half | per-layer CV | same-shape layers: max spread |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        st = r["stability"]
        lines.append(
            f"| {r['design']} | {r['cells']:,} | {r['area_um2'] / 1e6:.2f} | {r['jobs']} | "
            f"{r['useful_macs']:,} | {r['dense_macs']:,} | {r['sim_cycles']:,} | "
            f"{r['job_cycles']:,} | {r['joules'] * 1e9:,.1f} | {r['pj_per_useful_mac']:.2f} | "
            f"{r['pj_per_dense_mac']:.2f} | {r['mean_activity']:.4f} | "
            f"{100 * st['relative_change_last_half']:.2f} % | {100 * st['per_batch_cv']:.1f} % | "
            + (
                f"{100 * st['same_shape_max_spread']:.2f} % |"
                if st.get("same_shape_max_spread") is not None
                else "- |"
            )
        )
    flex = [r for r in rows if not r.get("baseline")]
    base = [r for r in rows if r.get("baseline")]
    if flex and base:
        lines += [
            "",
            "Baseline energy per useful MAC over FlexCiM's (> 1: FlexCiM spends less):",
            "",
            "| baseline | " + " | ".join(f"vs {f['design']}" for f in flex) + " |",
            "|---|" + "---:|" * len(flex),
        ]
        for b in base:
            ratios = [b["pj_per_useful_mac"] / f["pj_per_useful_mac"] for f in flex]
            lines.append(f"| {b['design']} | " + " | ".join(f"{x:.2f}x" for x in ratios) + " |")
    lines += model_table(result)
    lines += composition_section(result)
    lines += ["", "## Energy by block (pJ per useful MAC; switching / internal / leakage)", ""]
    lines.append("| block | " + " | ".join(r["design"] for r in rows) + " |")
    lines.append("|---|" + "---:|" * len(rows))
    for block in order:
        cells = []
        for r in rows:
            part = r["blocks"].get(block)
            if part is None:
                cells.append("-")
                continue
            u = r["useful_macs"]
            tot = sum(part.values()) * 1e12 / u
            share = 100 * sum(part.values()) / r["joules"]
            sw, it, lk = (part[p] * 1e12 / u for p in ("switching", "internal", "leakage"))
            cells.append(f"{tot:.3f} ({share:.1f} %: {sw:.3f} / {it:.3f} / {lk:.3f})")
        lines.append(f"| {block} | " + " | ".join(cells) + " |")
    lines += ["", "## Per layer (batch = one simulation)", ""]
    lines.append(
        "| design | layer | pattern | jobs | sim cycles | energy (pJ) | pJ / job | "
        "pJ / useful MAC | sim s |"
    )
    lines.append("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        for b in r["batches"]:
            lines.append(
                f"| {r['design']} | {b['layer']} | {b['pattern']} | {b['jobs']} | "
                f"{b['sim_cycles']:,} | {_pj(b['joules'])} | {_pj(b['joules'] / b['jobs'])} | "
                f"{b['joules'] * 1e12 / b['useful_macs']:.2f} | {b['sim_seconds']:.0f} |"
            )
    holds = [(r["design"], r.get("composition_holdout")) for r in rows]
    if any(h for _, h in holds):
        lines += [
            "",
            "## Composition check (per-block energy per cycle, silicon.compose)",
            "",
            "Each block's energy per simulated cycle, characterised on the first half of the "
            "layers, predicts the second half's energy:",
            "",
        ]
        for design, h in holds:
            if h:
                lines.append(
                    f"- {design}: {h['fit_batches']} layers -> {h['test_batches']} layers, "
                    f"predicted {h['predicted_j'] * 1e9:.1f} nJ vs measured "
                    f"{h['measured_j'] * 1e9:.1f} nJ ({100 * h['relative_error']:+.1f} %)"
                )
    sta = result.get("opensta")
    if sta:
        lines += [
            "",
            f"## OpenSTA cross-check ({rows[0]['design']}, power in mW at the "
            f"{rows[0]['clock_ns']:g} ns clock)",
            "",
            f"OpenSTA 2019 `report_power` with `set_power_activity -global -activity "
            f"{sta['activity']}` (the measured mean activity, transitions per cycle per net) "
            "against this model at the same uniform activity, and this model at the measured "
            "per-net activity.",
            "",
            "| source | internal | switching | leakage | total |",
            "|---|---:|---:|---:|---:|",
        ]
        for label, key in (
            ("OpenSTA, uniform activity", "opensta_w"),
            ("silicon.energy, uniform activity", "model_uniform_w"),
            ("silicon.energy, measured per-net activity", "model_measured_w"),
        ):
            p = sta[key]
            lines.append(
                f"| {label} | {p['internal'] * 1e3:.4f} | {p['switching'] * 1e3:.4f} | "
                f"{p['leakage'] * 1e3:.6f} | {p['total'] * 1e3:.4f} |"
            )
        ratio = sta["model_uniform_w"]["total"] / sta["opensta_w"]["total"]
        lines += ["", f"silicon.energy / OpenSTA at the same activity: {ratio:.3f}."]
        ours, theirs = sta.get("model_uniform_groups_w"), sta.get("opensta_groups_w")
        if ours and theirs:
            lines += [
                "",
                "By group at the same uniform activity (mW; OpenSTA's groups, the ideal clock "
                "net apart):",
                "",
                "| group | OpenSTA internal | model internal | OpenSTA switching | "
                "model switching |",
                "|---|---:|---:|---:|---:|",
            ]
            for g in ("sequential", "combinational"):
                t, o = theirs.get(g, {}), ours.get(g, {})
                lines.append(
                    f"| {g} | {t.get('internal', 0) * 1e3:.3f} | {o.get('internal', 0) * 1e3:.3f}"
                    f" | {t.get('switching', 0) * 1e3:.3f} | {o.get('switching', 0) * 1e3:.3f} |"
                )
            for g in sorted(set(ours) - {"sequential", "combinational"}):
                o = ours[g]
                lines.append(f"| {g} | - | - | - | {o.get('switching', 0) * 1e3:.3f} |")
    lines += [
        "",
        "Wall time: "
        + ", ".join(f"{r['design']} {r['seconds']['total']:.0f} s" for r in rows)
        + f"; whole run {result['wall_seconds']:.0f} s (cached steps are not redone).",
    ]
    return "\n".join(lines) + "\n"


def composition_section(result: dict) -> list[str]:
    """The paper-size figures composed from the small runs (silicon.compose_paper)."""
    comp = result.get("composition")
    if not comp:
        return []
    from silicon.compose_report import paper_tables

    own = {r["design"] for r in result["designs"]}
    runs = ", ".join(f"{d} ({'this run' if d in own else 'committed'})" for d in comp["runs"])
    checks = "; ".join(
        f"{v['source']} -> {v['target']} {100 * v['relative_error']:+.1f}%"
        for v in comp["validation"]
        if v["rule"] == comp["rule"]
    )
    lines = [
        "",
        "## Paper size, composed from the small runs (silicon.compose_paper)",
        "",
        f"Characterisations: {runs}. Validation against flat runs of the mid designs "
        f"(P 4, R = C = 8), rule `{comp['rule']}`: {checks} (docs/ENERGY.md).",
    ]
    return lines + [line.replace("## ", "### ", 1) for line in paper_tables(comp)]


def _ppl(model: dict) -> str:
    ppl = model.get("perplexity")
    return "-" if ppl is None else f"{ppl:.2f}"


def model_table(result: dict) -> list[str]:
    """Issue 21 item 5: each core on the model it allows, energy and cycles beside perplexity.
    Every model prunes the same layers to 50 %, so the dense MACs are the same and the energy
    of the layers compares directly."""
    rows = result["designs"] + result.get("own_models", [])
    flex = [r for r in result["designs"] if not r.get("baseline")]
    if not rows or not all("model" in r for r in rows):
        return []
    lines = [
        "",
        "## Each core on the model it allows (same layers, same pruner, 50 %)",
        "",
        "A fixed-pattern core runs FlexCiM's model dense (its masks are not of the core's "
        "pattern) or, at its own speed, the uniform model of its pattern; the dense DCiM runs "
        "any model at dense speed. Perplexity: flow export's, on the export's evaluation windows.",
        "",
        "| core | model | patterns | perplexity | sim cycles | energy (nJ) | pJ / useful MAC |"
        + "".join(f" energy / {f['design']} |" for f in flex),
        "|---|---|---|---:|---:|---:|---:|" + "---:|" * len(flex),
    ]
    for r in rows:
        m = r["model"]
        pruner = m.get("pruner") or ""
        label = m["method"] if pruner in m["method"] else f"{m['method']} ({pruner})"
        ratios = "".join(f" {r['joules'] / f['joules']:.2f}x |" for f in flex)
        lines.append(
            f"| {r['design']} | {label} | {', '.join(m['patterns'])} | {_ppl(m)} | "
            f"{r['sim_cycles']:,} | {r['joules'] * 1e9:,.1f} | {r['pj_per_useful_mac']:.2f} |"
            + ratios
        )
    return lines


def plot(result: dict, order: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["designs"]
    comp = result.get("composition")
    panels = 4 if comp else 3
    fig, axes = plt.subplots(1, panels, figsize=(6.3 * panels, 5))
    ax1, ax2, ax3 = axes[:3]
    bottom = [0.0] * len(rows)
    names = [r["design"] for r in rows]
    for block in order:
        vals = [sum(r["blocks"].get(block, {}).values()) * 1e12 / r["useful_macs"] for r in rows]
        if any(vals):
            ax1.bar(names, vals, bottom=bottom, label=block)
            bottom = [b + v for b, v in zip(bottom, vals, strict=True)]
    ax1.set_ylabel("pJ per useful MAC")
    ax1.set_title("Energy by block")
    ax1.legend(fontsize=7)
    for r in rows:
        per = [b["joules"] * 1e12 / b["useful_macs"] for b in r["batches"]]
        ax2.plot(range(len(per)), per, marker="o", label=r["design"])
    ax2.set_xlabel("layer (batch)")
    ax2.set_ylabel("pJ per useful MAC")
    ax2.set_title("Per layer")
    ax2.legend(fontsize=7)
    # What the flexible core buys and costs: energy and cycles of the same layers against the
    # perplexity of the model each core runs (issue 21 item 5).
    for r in rows + result.get("own_models", []):
        ppl = r.get("model", {}).get("perplexity")
        if ppl is None:
            continue
        label = f"{r['design']}: {', '.join(r['model']['patterns'])}, {r['sim_cycles']:,} cyc"
        ax3.scatter(ppl, r["joules"] * 1e9, marker="s" if r.get("baseline") else "o")
        ax3.annotate(label, (ppl, r["joules"] * 1e9), fontsize=7)
    ax3.set_xlabel("perplexity of the model the core runs")
    ax3.set_ylabel("energy of the workload layers (nJ)")
    ax3.set_title("Energy vs accuracy")
    if comp:
        whole_model_panel(axes[3], comp)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def whole_model_panel(ax, comp: dict) -> None:
    """Paper size, whole model: energy per useful MAC against job cycles, with error bars."""
    for i, p in enumerate(comp["paper"]):
        m = p["model"]
        pj = m["pj_per_useful_mac"]
        marker = "o" if HwConfig.named(p["target"]).fixed_pattern is None else "s"
        ax.errorbar(m["job_cycles"] / 1e6, pj, yerr=pj * p["error_bar"], fmt=marker, capsize=3)
        name = p["target"].replace("paper_", "").replace("paper", "G=C") + (
            " (own)" if p.get("own_model") else ""
        )
        # labels of nearby points alternate above and below
        ax.annotate(
            name,
            (m["job_cycles"] / 1e6, pj),
            fontsize=6,
            xytext=(4, 6 if i % 2 else -9),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xlabel("whole-model job cycles (millions, log)")
    ax.set_ylabel("pJ per useful MAC (composed)")
    ax.set_title("Paper size, whole model")
