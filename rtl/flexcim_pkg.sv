// SPDX-License-Identifier: Apache-2.0
//
// The one home of the core's parameter limits, stream widths and CSR map
// constants that more than one module (or a port declaration) needs.
// golden/config.py (HwConfig) checks the same limits; docs/ARCHITECTURE.md
// section 0 lists them.

`resetall
`timescale 1ns / 1ps
`default_nettype none

package flexcim_pkg;

  // Parameter limits. Why P <= 64: the M CSR holds 8 bits and M_hw goes up to
  // 2P. R, C and MAX_TOK are reported in 8-bit PARAMS fields.
  localparam int P_MIN       = 2;
  localparam int P_MAX       = 64;
  localparam int R_MIN       = 2;
  localparam int R_MAX       = 128;
  localparam int C_MAX       = 255;
  localparam int MAX_TOK_MAX = 255;

  // Baseline cores (FIXED_N, FIXED_M): (0, 0) is the flexible FlexCiM core;
  // (P, P) the dense DCiM macro; (1, 2) and (2, 4) the fixed-pattern sparse
  // cores; the fixed 2:4 core stores a per-cell 2:1 pair select, so it needs
  // G = 1 (checked by flexcim_ctrl). golden.config.HwConfig checks the same.

  // 1 when (fn, fm) is a core this RTL builds for P = p (the list above).
  function automatic integer fixed_ok(input integer p, input integer fn, input integer fm);
    fixed_ok = ((fn == 0 && fm == 0) || (fn == p && fm == p) || (fn == 1 && fm == 2) ||
                (fn == 2 && fm == 4)) ? 1 : 0;
  endfunction

  // Pair-select bits a slot row stores per select group: log2 P (flexible),
  // 1 (fixed 2:4: a 2:1 pair select), 0 (dense, fixed 1:2: the pair is wired).
  function automatic integer q_store_bits(input integer p, input integer fn, input integer fm);
    if (fm == 0) q_store_bits = $clog2(p);
    else if (fn == 2 && fm == 4) q_store_bits = 1;
    else q_store_bits = 0;
  endfunction

  // 1 when the cells store a metadata bit b (every core but the dense one).
  function automatic integer has_meta(input integer fn, input integer fm);
    has_meta = (fm != 0 && fn == fm) ? 0 : 1;
  endfunction

  // Bits of one pair select q: max(1, log2 P) (P >= 2, so simply log2 P).
  function automatic integer q_bits(input integer p);
    q_bits = $clog2(p);
  endfunction

  // Payload and tdata widths of one weight beat (ARCHITECTURE.md section 3):
  // C weights, C metadata bits, C/G pair selects (one per group of G columns
  // sharing a select; G = C is one q per slot row), padded to whole bytes.
  // golden.config.HwConfig.W_TDATA is the same formula.
  function automatic integer w_beat_bits(input integer p, input integer c, input integer wb,
                                         input integer g);
    w_beat_bits = c * wb + c + (c / g) * q_bits(p);
  endfunction

  function automatic integer w_tdata_bits(input integer p, input integer c, input integer wb,
                                          input integer g);
    w_tdata_bits = ((w_beat_bits(p, c, wb, g) + 7) / 8) * 8;
  endfunction

  // Width of one activation beat: RPB macro rows of 2*P*P lanes of AB bits
  // (= golden.config.HwConfig.A_TDATA).
  function automatic integer a_tdata_bits(input integer p, input integer ab, input integer rpb);
    a_tdata_bits = rpb * 2 * p * p * ab;
  endfunction

  // Drain cycles D = log2 R + log2 P + 2 (= golden.cycle_model.drain_cycles).
  function automatic integer drain_cycles(input integer p, input integer r);
    drain_cycles = $clog2(r) + $clog2(p) + 2;
  endfunction

endpackage : flexcim_pkg

`resetall
