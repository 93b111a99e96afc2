// SPDX-License-Identifier: Apache-2.0
//
// One FlexCiM sub-macro: R rows x C columns of cells and, per column, a
// pipelined adder tree over the R rows. A pulse on issue_i registers all cell
// products (stage 1); the column sums appear log2(R) cycles later with valid_o.
// Why rows are written one at a time: one weight beat is one slot row.
// Cell (r, c) takes the pair of its select group c / G (G columns share one
// pair select; G = C is one pair per row). META = 0 (the dense DCiM
// baseline) builds cells without a metadata bit.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_submacro #(
  parameter int R  = 16,  // rows, power of two >= 2
  parameter int C  = 16,  // columns (output channels)
  parameter int WB = 8,   // weight bits, two's complement
  parameter int AB = 8,   // activation bits, two's complement
  parameter int G  = C,   // columns sharing one pair select, divides C
  parameter int META = 1  // 1: cells store metadata bit b; 0: none (dense DCiM baseline)
) (
  input  wire                                    clk_i,    // rising-edge clock
  input  wire                                    rst_ni,   // synchronous, active low: clears valid
  input  wire  [R-1:0]                           we_i,     // row r takes w_i / b_i this cycle
  input  wire  [C*WB-1:0]                        w_i,      // weights of one row, column c at [c*WB +: WB]
  input  wire  [C-1:0]                           b_i,      // metadata bits of one row, column c at [c]
  input  wire  [R*(C/G)*2*AB-1:0]                pairs_i,  // pair of row r, select group g at [(r*C/G + g)*2*AB +: 2*AB]
  input  wire                                    issue_i,  // register every cell product now
  output logic                                   valid_o,  // sum_o holds the column sums of an issue
  output logic [C*(WB+AB+$clog2(R))-1:0]         sum_o     // column c sum at [c*SW +: SW]
);

  localparam int PW   = WB + AB;  // product width
  localparam int SELS = C / G;    // pair selects (and pairs) per row

  initial begin
    if (R < 2 || (1 << $clog2(R)) != R) $fatal(1, "R (%0d) must be a power of two >= 2", R);
    if (C < 1) $fatal(1, "C (%0d) must be >= 1", C);
    if (G < 1 || G > C || C % G != 0) $fatal(1, "G (%0d) must divide C (%0d)", G, C);
  end

  // Products in column-major order: column c, row r at [(c*R + r)*PW +: PW].
  wire  [C*R*PW-1:0] prods;
  logic              valid1_q;

  for (genvar r = 0; r < R; r++) begin : gen_row
    for (genvar c = 0; c < C; c++) begin : gen_col
      flexcim_cell #(
        .WB  (WB),
        .AB  (AB),
        .META(META)
      ) u_cell (
        .clk_i,
        .we_i   (we_i[r]),
        .w_i    (w_i[c*WB +: WB]),
        .b_i    (b_i[c]),
        .en_i   (issue_i),
        .pair_i (pairs_i[(r*SELS + c/G)*2*AB +: 2*AB]),
        .prod_o (prods[(c*R + r)*PW +: PW])
      );
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      valid1_q <= 1'b0;
    end else begin
      valid1_q <= issue_i;
    end
  end

  flexcim_adder_tree #(
    .N_IN (R),
    .IW   (PW),
    .LANES(C)
  ) u_col_tree (
    .clk_i,
    .rst_ni,
    .valid_i(valid1_q),
    .data_i (prods),
    .valid_o,
    .data_o (sum_o)
  );

endmodule : flexcim_submacro

`resetall
