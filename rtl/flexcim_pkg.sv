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
