// flexcim:verif:flexcim_core:0.1: the default target's sources, in order. GENERATED from
// flexcim.core by `python -m tb.ipcore`; edit that file, not this one.
// Paths are relative to this folder: `verilator -F rtl/flexcim.f` reads them from
// anywhere; Icarus 11 has no -F, so run `iverilog -g2012 -c flexcim.f` inside rtl/.
// Top level: flexcim_core. Lint waivers (Verilator): lint/verilator.vlt.
// fileset files_rtl
flexcim_pkg.sv
flexcim_cell.sv
flexcim_adder_tree.sv
flexcim_submacro.sv
flexcim_distribution.sv
flexcim_merge.sv
flexcim_ctrl.sv
flexcim_axil.sv
flexcim_core.sv
// fileset files_sim_only
flexcim_core_assert.sv
