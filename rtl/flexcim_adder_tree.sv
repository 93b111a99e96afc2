// SPDX-License-Identifier: Apache-2.0
//
// Pipelined binary adder tree: LANES independent trees of N_IN two's-complement
// inputs each, one register per level (latency log2(N_IN)), width growing by one
// bit per level so no sum can overflow. Why one module: the sub-macro column
// trees (N_IN = R, LANES = C) and the merge trees (N_IN = P, LANES = C) are the
// same structure. The lanes share one valid pipeline, and a level's data
// registers load only when its input is valid (they hold otherwise), so the
// tree costs nothing while idle and never needs a data reset.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_adder_tree #(
  parameter int N_IN  = 16,  // inputs per tree, power of two >= 2
  parameter int IW    = 16,  // input width in bits, two's complement
  parameter int LANES = 1    // independent trees sharing the valid pipeline
) (
  input  wire                                   clk_i,    // rising-edge clock
  input  wire                                   rst_ni,   // synchronous, active low: clears valid
  input  wire                                   valid_i,  // data_i holds a new set of inputs
  input  wire  [LANES*N_IN*IW-1:0]              data_i,   // lane l, input i at [(l*N_IN+i)*IW +: IW]
  output logic                                  valid_o,  // data_o holds the sums of a valid set
  output logic [LANES*(IW+$clog2(N_IN))-1:0]    data_o    // lane l sum at [l*(IW+LEVELS) +: IW+LEVELS]
);

  localparam int LEVELS = $clog2(N_IN);

  initial begin
    if (N_IN < 2 || (1 << LEVELS) != N_IN) $fatal(1, "N_IN (%0d) must be a power of two >= 2", N_IN);
    if (IW < 1) $fatal(1, "IW (%0d) must be >= 1", IW);
    if (LANES < 1) $fatal(1, "LANES (%0d) must be >= 1", LANES);
  end

  // vld[l] is the valid bit in front of level l + 1 (vld[0] = valid_i).
  wire [LEVELS:0] vld;
  assign vld[0] = valid_i;

  for (genvar l = 1; l <= LEVELS; l++) begin : gen_level
    localparam int NODES = LANES * (N_IN >> l);  // nodes of all lanes at this level
    localparam int LW    = IW + l;               // node width at this level

    wire  [2*NODES*(LW-1)-1:0] prev;   // the previous level, lane-major
    logic [NODES*LW-1:0]       sum_q;
    logic                      vld_q;

    if (l == 1) begin : gen_from_input
      assign prev = data_i;
    end else begin : gen_from_level
      assign prev = gen_level[l-1].sum_q;
    end

    always_ff @(posedge clk_i) begin
      if (!rst_ni) begin
        vld_q <= 1'b0;
      end else begin
        vld_q <= vld[l-1];
      end
    end

    // Node i adds children 2i and 2i+1 (lane-major order keeps lanes apart), sign-extended
    // by one bit. The adds sit under the valid so a simulator evaluates them only then.
    always_ff @(posedge clk_i) begin
      if (vld[l-1]) begin
        for (int i = 0; i < NODES; i++) begin
          sum_q[i*LW +: LW] <= {prev[(2*i+1)*(LW-1) - 1], prev[(2*i)*(LW-1) +: LW-1]}
                             + {prev[(2*i+2)*(LW-1) - 1], prev[(2*i+1)*(LW-1) +: LW-1]};
        end
      end
    end

    assign vld[l] = vld_q;
  end

  assign valid_o = vld[LEVELS];
  assign data_o  = gen_level[LEVELS].sum_q;

endmodule : flexcim_adder_tree

`resetall
