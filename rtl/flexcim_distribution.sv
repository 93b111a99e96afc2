// SPDX-License-Identifier: Apache-2.0
//
// Activation distribution for one macro row: the P slots (p, r) of row r each
// own C/G P:1 pair muxes, one per group of G columns sharing a pair select
// (G = C: one mux per slot, today's core; G = 1: one per cell). Slot p belongs
// to set s = p / N_hw = p >> log2(N_hw); the set's group sits in lanes
// s*2P .. s*2P + 2P-1 of the row, arranged as P pairs; select group g of the
// slot takes pair q[g] (its stored select). A pair q >= M_hw/2 is not part of
// the group and reads zero, so stale lanes never leak into a sum.
// Purely combinational: the cells register the products.
// Baselines (FIXED_N, FIXED_M != 0, 0; ARCHITECTURE.md 1): no P:1 mux, no
// N_hw/M_hw inputs. Dense (P, P): slot p takes activation k = p of the row's
// one group (pair p/2, element p%2), handed over as a0 of {0, a} (its cells
// store no b). Fixed 1:2: slot p (set p) takes pair 0 of its set, wired.
// Fixed 2:4: slot p (set p/2) takes pair q[g][0] of its set, a 2:1 mux per
// select group (G = 1: per cell); the upper select bits are not used.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_distribution #(
  parameter int P  = 4,   // sub-macros (slots per row), power of two >= 2
  parameter int AB = 8,   // activation bits
  parameter int C  = 16,  // columns of a slot row
  parameter int G  = C,   // columns sharing one pair select, divides C
  parameter int FIXED_N = 0,  // baseline pattern N (0: flexible FlexCiM; P: dense; 1, 2: fixed)
  parameter int FIXED_M = 0   // baseline pattern M (0: flexible FlexCiM; P: dense; 2, 4: fixed)
) (
  input  wire  [2*P*P*AB-1:0]                        row_i,    // activation lanes of the row, lane k at [k*AB +: AB]
  input  wire  [P*(C/G)*$clog2(P)-1:0]               q_i,      // select g of slot p at [(p*C/G + g)*QW +: QW]
  input  wire  [$clog2($clog2(P)+1)-1:0]             nlog_i,   // log2(N_hw), 0 .. log2(P)
  input  wire  [$clog2(P):0]                         mhalf_i,  // M_hw / 2, 1 .. P
  output logic [P*(C/G)*2*AB-1:0]                    pairs_o   // pair {a1, a0} of (p, g) at [(p*C/G + g)*2*AB +: 2*AB]
);

  localparam int QW   = $clog2(P);  // = max(1, log2 P) for P >= 2
  localparam int SELS = C / G;      // pair selects per slot

  initial begin
    if (P < 2 || (1 << QW) != P) $fatal(1, "P (%0d) must be a power of two >= 2", P);
    if (AB < 1) $fatal(1, "AB (%0d) must be >= 1", AB);
    if (G < 1 || G > C || C % G != 0) $fatal(1, "G (%0d) must divide C (%0d)", G, C);
    if (!(FIXED_N == 0 && FIXED_M == 0) && !(FIXED_N == P && FIXED_M == P) &&
        !(FIXED_N == 1 && FIXED_M == 2) && !(FIXED_N == 2 && FIXED_M == 4))
      $fatal(1, "FIXED_N:FIXED_M (%0d:%0d) must be 0:0, P:P, 1:2 or 2:4", FIXED_N, FIXED_M);
  end

  if (FIXED_M == 0) begin : gen_flex
    for (genvar p = 0; p < P; p++) begin : gen_slot
      localparam logic [QW-1:0] PIDX = QW'(p);
      wire [QW-1:0] set = PIDX >> nlog_i;  // s = p / N_hw
      for (genvar g = 0; g < SELS; g++) begin : gen_sel
        wire [QW-1:0]   q    = q_i[(p*SELS + g)*QW +: QW];
        wire [2*QW-1:0] pidx = {set, q};   // pair index s*P + q in the row
        wire            live = {1'b0, q} < mhalf_i;
        assign pairs_o[(p*SELS + g)*2*AB +: 2*AB] = live ? row_i[pidx*2*AB +: 2*AB] : '0;
      end
    end
  end else begin : gen_fixed
    for (genvar p = 0; p < P; p++) begin : gen_slot
      for (genvar g = 0; g < SELS; g++) begin : gen_sel
        localparam int O = (p*SELS + g)*2*AB;  // this select group's pair in pairs_o
        if (FIXED_N == FIXED_M) begin : gen_dense  // activation k = p of set 0
          assign pairs_o[O +: 2*AB] = {{AB{1'b0}}, row_i[p*AB +: AB]};
        end else if (FIXED_N == 1) begin : gen_12  // pair 0 of set p
          assign pairs_o[O +: 2*AB] = row_i[p*P*2*AB +: 2*AB];
        end else begin : gen_24  // pair q[0] of set p/2
          wire q0 = q_i[(p*SELS + g)*QW];
          assign pairs_o[O +: 2*AB] = q0 ? row_i[((p/2)*P + 1)*2*AB +: 2*AB]
                                         : row_i[((p/2)*P)*2*AB +: 2*AB];
        end
      end
    end
    // Hard-wired: N_hw and M_hw are the core's own (ctrl refuses others, code 6);
    // the lanes and select bits a baseline does not read are left unused.
    wire unused_fixed = ^{row_i, q_i, nlog_i, mhalf_i};
  end

endmodule : flexcim_distribution

`resetall
