// SPDX-License-Identifier: Apache-2.0
//
// One FlexCiM cell: a stored weight w and metadata bit b. It receives the
// activation pair {a1, a0} chosen by its slot's distribution mux and, when
// en_i is high, registers the product w * (b ? a1 : a0) (pipeline stage 1).
// Why no reset: w, b and the product are data; the sub-macro's valid bit says
// when the product register holds a meaningful value.
// META = 0 (the dense DCiM baseline) stores no b: the cell always takes a0,
// the activation its slot's wiring hands it.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_cell #(
  parameter int WB = 8,  // weight bits, two's complement
  parameter int AB = 8,  // activation bits, two's complement
  parameter int META = 1  // 1: store metadata bit b (FlexCiM, fixed sparse); 0: none (dense)
) (
  input  wire                clk_i,   // rising-edge clock
  input  wire                we_i,    // write w_i and b_i into the cell
  input  wire  [WB-1:0]      w_i,     // weight to store
  input  wire                b_i,     // metadata bit to store: which element of the pair
  input  wire                en_i,    // register the product of the current pair
  input  wire  [2*AB-1:0]    pair_i,  // activation pair {a1, a0}
  output logic [WB+AB-1:0]   prod_o   // registered signed product w * a_b
);

  initial begin
    if (WB < 2 || AB < 2) $fatal(1, "WB (%0d) and AB (%0d) must be >= 2", WB, AB);
  end

  logic [WB-1:0] w_q;
  wire  [AB-1:0] act;

  always_ff @(posedge clk_i) begin
    if (we_i) begin
      w_q <= w_i;
    end
  end

  // 1:2 select (none in the dense cell), then a signed multiply done on
  // sign-extended operands: the low PW bits of the product are exact because
  // |w * a| < 2^(PW-1). The multiply sits under en_i so a simulator evaluates
  // it only on an issue.
  if (META != 0) begin : gen_meta
    logic b_q;
    always_ff @(posedge clk_i) begin
      if (we_i) begin
        b_q <= b_i;
      end
    end
    assign act = b_q ? pair_i[2*AB-1:AB] : pair_i[AB-1:0];
  end else begin : gen_no_meta
    assign act = pair_i[AB-1:0];
    wire unused_meta = ^{b_i, pair_i[2*AB-1:AB]};  // no b storage: a1 and b_i are not used
  end

  always_ff @(posedge clk_i) begin
    if (en_i) begin
      prod_o <= {{AB{w_q[WB-1]}}, w_q} * {{WB{act[AB-1]}}, act};
    end
  end

endmodule : flexcim_cell

`resetall
