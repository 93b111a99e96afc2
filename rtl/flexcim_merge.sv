// SPDX-License-Identifier: Apache-2.0
//
// Merge and output accumulation: per column, a pipelined P-input adder tree
// adds the P sub-macro column sums (latency log2(P)); the accumulate stage then
// writes acc[t] = first_pass ? sum : acc[t] + sum into a MAX_TOK x C buffer of
// ACC-bit two's-complement words (wrapping). Why the token and pass tracking
// lives here: merged sums arrive in token order, T per pass, so counting them
// gives the token and the first-pass flag without a sideband pipeline.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_merge #(
  parameter int P       = 4,   // sub-macros merged, power of two >= 2
  parameter int R       = 16,  // rows per sub-macro (sets the column-sum width)
  parameter int C       = 16,  // columns
  parameter int WB      = 8,   // weight bits
  parameter int AB      = 8,   // activation bits
  parameter int ACC     = 32,  // accumulator bits, two's complement, wrapping
  parameter int MAX_TOK = 16   // tokens the buffer holds
) (
  input  wire                                      clk_i,     // rising-edge clock
  input  wire                                      rst_ni,    // synchronous, active low: clears control
  input  wire                                      start_i,   // a job starts: token 0, first pass
  input  wire  [$clog2(MAX_TOK+1)-1:0]             tokens_i,  // tokens per pass T, 1 .. MAX_TOK
  input  wire                                      valid_i,   // sums_i holds the sums of one token
  input  wire  [P*C*(WB+AB+$clog2(R))-1:0]         sums_i,    // sub-macro p column c sum at [(p*C+c)*SW +: SW]
  input  wire  [(MAX_TOK > 1 ? $clog2(MAX_TOK) : 1)-1:0] rd_tok_i,  // token whose outputs rd_data_o shows
  output logic [C*ACC-1:0]                         rd_data_o  // acc of token rd_tok_i, column c at [c*ACC +: ACC]
);

  localparam int SW  = WB + AB + $clog2(R);  // column-sum width
  localparam int MW  = SW + $clog2(P);       // merged-sum width
  localparam int TIW = MAX_TOK > 1 ? $clog2(MAX_TOK) : 1;

  initial begin
    if (P < 2 || (1 << $clog2(P)) != P) $fatal(1, "P (%0d) must be a power of two >= 2", P);
    if (R < 2 || (1 << $clog2(R)) != R) $fatal(1, "R (%0d) must be a power of two >= 2", R);
    if (MAX_TOK < 1) $fatal(1, "MAX_TOK (%0d) must be >= 1", MAX_TOK);
    if (ACC < 2) $fatal(1, "ACC (%0d) must be >= 2", ACC);
  end

  // Regroup the inputs column-major for the tree: column c, sub-macro p.
  wire [C*P*SW-1:0] tree_in;
  for (genvar c = 0; c < C; c++) begin : gen_col_in
    for (genvar p = 0; p < P; p++) begin : gen_sm
      assign tree_in[(c*P + p)*SW +: SW] = sums_i[(p*C + c)*SW +: SW];
    end
  end

  wire            tree_valid;
  wire [C*MW-1:0] tree_sum;

  flexcim_adder_tree #(
    .N_IN (P),
    .IW   (SW),
    .LANES(C)
  ) u_merge_tree (
    .clk_i,
    .rst_ni,
    .valid_i(valid_i),
    .data_i (tree_in),
    .valid_o(tree_valid),
    .data_o (tree_sum)
  );

  logic [TIW-1:0]   tok_q;     // token of the next merged sum
  logic             first_q;   // the next merged sum belongs to the first pass
  logic [C*ACC-1:0] acc_q [0:MAX_TOK-1];
  wire  [C*ACC-1:0] acc_old = acc_q[tok_q];
  wire  [C*ACC-1:0] acc_d;

  // Sign-extend (or wrap) each merged sum to ACC bits and accumulate.
  for (genvar c = 0; c < C; c++) begin : gen_acc
    wire [MW-1:0]  sum = tree_sum[c*MW +: MW];
    wire [ACC-1:0] ext;
    if (ACC > MW) begin : gen_extend
      assign ext = {{(ACC-MW){sum[MW-1]}}, sum};
    end else if (ACC == MW) begin : gen_same
      assign ext = sum;
    end else begin : gen_wrap
      assign ext = sum[ACC-1:0];
      wire unused_sum_msbs = ^sum[MW-1:ACC];
    end
    assign acc_d[c*ACC +: ACC] = first_q ? ext : acc_old[c*ACC +: ACC] + ext;
  end

  wire last_tok = 32'(tok_q) + 32'd1 == 32'(tokens_i);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      tok_q   <= '0;
      first_q <= 1'b1;
    end else if (start_i) begin
      tok_q   <= '0;
      first_q <= 1'b1;
    end else if (tree_valid) begin
      if (last_tok) begin
        tok_q   <= '0;
        first_q <= 1'b0;
      end else begin
        tok_q <= tok_q + 1'b1;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (tree_valid) begin
      acc_q[tok_q] <= acc_d;
    end
  end

  assign rd_data_o = acc_q[rd_tok_i];

endmodule : flexcim_merge

`resetall
