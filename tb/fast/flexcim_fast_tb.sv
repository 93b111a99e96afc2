// SPDX-License-Identifier: Apache-2.0
//
// Fast-path testbench top around flexcim_core (tb/fast/README in tb/README.md).
// A job's weight and activation beats sit in memories loaded in bulk
// ($readmemh on load_i), SystemVerilog drivers stream them with seedable valid
// gaps, and the output beats are captured (ready back-pressure) and written
// out once ($writememh on dump_i). cocotb keeps the CSRs (AXI4-Lite, the same
// ports as the core), the predictions, the scoreboard and the cycle checker;
// per clock edge nothing runs in Python, which is what makes it fast.
//
// Memory words carry tlast above the beat: {tlast, tdata}.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_fast_tb #(
  parameter int P       = 4,
  parameter int R       = 16,
  parameter int C       = 16,
  parameter int WB      = 8,
  parameter int AB      = 8,
  parameter int ACC     = 32,
  parameter int MAX_TOK = 16,
  parameter int G       = C,      // columns sharing one pair select
  parameter int RPB     = 1,      // activation rows per beat
  parameter int FIXED_N = 0,      // baseline pattern N (0: FlexCiM; P dense; 1, 2 fixed sparse)
  parameter int FIXED_M = 0,      // baseline pattern M (0: FlexCiM; P dense; 2, 4 fixed sparse)
  parameter int W_DEPTH = 8192,   // weight beats one load can hold
  parameter int A_DEPTH = 65536   // activation beats one load can hold
) (
  input  wire         clk_i,
  input  wire         rst_ni,
  // AXI4-Lite CSR slave, passed straight to the core
  input  wire  [7:0]  s_axil_awaddr,
  input  wire  [2:0]  s_axil_awprot,
  input  wire         s_axil_awvalid,
  output logic        s_axil_awready,
  input  wire  [31:0] s_axil_wdata,
  input  wire  [3:0]  s_axil_wstrb,
  input  wire         s_axil_wvalid,
  output logic        s_axil_wready,
  output logic [1:0]  s_axil_bresp,
  output logic        s_axil_bvalid,
  input  wire         s_axil_bready,
  input  wire  [7:0]  s_axil_araddr,
  input  wire  [2:0]  s_axil_arprot,
  input  wire         s_axil_arvalid,
  output logic        s_axil_arready,
  output logic [31:0] s_axil_rdata,
  output logic [1:0]  s_axil_rresp,
  output logic        s_axil_rvalid,
  input  wire         s_axil_rready,
  // job control (driven by cocotb between jobs)
  input  wire         load_i,     // read the job files, rewind the drivers and the capture
  input  wire         dump_i,     // write the captured output beats to the output file
  input  wire  [31:0] w_beats_i,  // weight beats of the loaded job
  input  wire  [31:0] a_beats_i,  // activation beats of the loaded job
  input  wire  [7:0]  w_gap_i,    // P(tvalid low) = w_gap_i / 256 on the weight stream
  input  wire  [7:0]  a_gap_i,    // same on the activation stream
  input  wire  [7:0]  y_bp_i,     // P(tready low) = y_bp_i / 256 on the output stream
  input  wire  [31:0] seed_i,     // seeds the three gap generators at load
  output logic [31:0] y_beats_o,  // output beats captured since the load
  output logic        y_done_o,   // a tlast beat was captured since the load
  output logic [31:0] w_taken_o,  // weight beats the core accepted since the load
  output logic [31:0] a_taken_o   // activation beats the core accepted since the load
);

  localparam int W_TDATA = flexcim_pkg::w_tdata_bits(P, C, WB, G);
  localparam int A_TDATA = flexcim_pkg::a_tdata_bits(P, AB, RPB);
  localparam int Y_TDATA = C*ACC;
  localparam int Y_DEPTH = MAX_TOK;
  localparam int WIW     = $clog2(W_DEPTH);
  localparam int AIW     = $clog2(A_DEPTH);
  localparam int YIW     = Y_DEPTH > 1 ? $clog2(Y_DEPTH) : 1;  // y_mem index bits

  // ------------------------------------------------------------ memories
  logic [W_TDATA:0]   w_mem [W_DEPTH];
  logic [A_TDATA:0]   a_mem [A_DEPTH];
  logic [Y_TDATA-1:0] y_mem [Y_DEPTH];

  // The files live in the simulator's working folder (tb.common.fast writes and reads them).
  always @(posedge clk_i) begin
    if (load_i) begin
      $readmemh("w.hex", w_mem, 0, w_beats_i - 1);
      $readmemh("a.hex", a_mem, 0, a_beats_i - 1);
    end
    if (dump_i) $writememh("y.hex", y_mem);
  end

  // ------------------------------------------------------------ gap generators
  // xorshift32 per stream; a stream's decision uses bits [7:0] of its state.
  function automatic logic [31:0] xorshift(input logic [31:0] s);
    logic [31:0] x;
    x = s ^ (s << 13);
    x = x ^ (x >> 17);
    return x ^ (x << 5);
  endfunction

  logic [31:0] w_rng_q, a_rng_q, y_rng_q;
  always_ff @(posedge clk_i) begin
    if (load_i) begin
      w_rng_q <= (seed_i ^ 32'h9E37_79B9) | 32'h1;  // never zero: xorshift would stick
      a_rng_q <= (seed_i ^ 32'h85EB_CA6B) | 32'h1;
      y_rng_q <= (seed_i ^ 32'hC2B2_AE35) | 32'h1;
    end else begin
      w_rng_q <= xorshift(w_rng_q);
      a_rng_q <= xorshift(a_rng_q);
      y_rng_q <= xorshift(y_rng_q);
    end
  end
  wire w_gap = w_rng_q[7:0] < w_gap_i;
  wire a_gap = a_rng_q[7:0] < a_gap_i;
  wire y_bp  = y_rng_q[7:0] < y_bp_i;

  // ------------------------------------------------------------ stream drivers
  // AXI-Stream rule: once tvalid is high it stays high, with the same beat, until taken.
  logic [W_TDATA-1:0] s_axis_w_tdata;
  logic               s_axis_w_tvalid, s_axis_w_tready, s_axis_w_tlast;
  logic [A_TDATA-1:0] s_axis_a_tdata;
  logic               s_axis_a_tvalid, s_axis_a_tready, s_axis_a_tlast;
  logic [Y_TDATA-1:0] m_axis_y_tdata;
  logic               m_axis_y_tvalid, m_axis_y_tready, m_axis_y_tlast;

  logic [31:0] w_idx_q, a_idx_q;
  logic        w_valid_q, a_valid_q;
  wire         w_fire = w_valid_q && s_axis_w_tready;
  wire         a_fire = a_valid_q && s_axis_a_tready;
  wire [31:0]  w_idx_d = w_idx_q + {31'd0, w_fire};
  wire [31:0]  a_idx_d = a_idx_q + {31'd0, a_fire};

  always_ff @(posedge clk_i) begin
    if (!rst_ni || load_i) begin
      w_idx_q   <= '0;
      a_idx_q   <= '0;
      w_valid_q <= 1'b0;
      a_valid_q <= 1'b0;
    end else begin
      w_idx_q <= w_idx_d;
      a_idx_q <= a_idx_d;
      if (!w_valid_q || s_axis_w_tready) w_valid_q <= (w_idx_d < w_beats_i) && !w_gap;
      if (!a_valid_q || s_axis_a_tready) a_valid_q <= (a_idx_d < a_beats_i) && !a_gap;
    end
  end

  wire [W_TDATA:0] w_word = w_mem[w_idx_q[WIW-1:0]];
  wire [A_TDATA:0] a_word = a_mem[a_idx_q[AIW-1:0]];
  assign s_axis_w_tvalid = w_valid_q;
  assign s_axis_w_tdata  = w_word[W_TDATA-1:0];
  assign s_axis_w_tlast  = w_word[W_TDATA];
  assign s_axis_a_tvalid = a_valid_q;
  assign s_axis_a_tdata  = a_word[A_TDATA-1:0];
  assign s_axis_a_tlast  = a_word[A_TDATA];
  assign w_taken_o = w_idx_q;
  assign a_taken_o = a_idx_q;

  // ------------------------------------------------------------ output capture
  logic        y_ready_q, y_done_q;
  logic [31:0] y_beats_q;
  wire         y_fire = m_axis_y_tvalid && y_ready_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni || load_i) begin
      y_ready_q <= 1'b0;
      y_done_q  <= 1'b0;
      y_beats_q <= '0;
    end else begin
      y_ready_q <= !y_bp;
      if (y_fire) begin
        if (y_beats_q < Y_DEPTH) y_mem[y_beats_q[YIW-1:0]] <= m_axis_y_tdata;
        y_beats_q <= y_beats_q + 32'd1;
        if (m_axis_y_tlast) y_done_q <= 1'b1;
      end
    end
  end
  assign m_axis_y_tready = y_ready_q;
  assign y_beats_o       = y_beats_q;
  assign y_done_o        = y_done_q;

  // ------------------------------------------------------------ the core
  flexcim_core #(
    .P(P), .R(R), .C(C), .WB(WB), .AB(AB), .ACC(ACC), .MAX_TOK(MAX_TOK), .G(G),
    .RPB(RPB), .FIXED_N(FIXED_N), .FIXED_M(FIXED_M)
  ) u_core (
    .clk_i,
    .rst_ni,
    .s_axil_awaddr,
    .s_axil_awprot,
    .s_axil_awvalid,
    .s_axil_awready,
    .s_axil_wdata,
    .s_axil_wstrb,
    .s_axil_wvalid,
    .s_axil_wready,
    .s_axil_bresp,
    .s_axil_bvalid,
    .s_axil_bready,
    .s_axil_araddr,
    .s_axil_arprot,
    .s_axil_arvalid,
    .s_axil_arready,
    .s_axil_rdata,
    .s_axil_rresp,
    .s_axil_rvalid,
    .s_axil_rready,
    .s_axis_w_tdata,
    .s_axis_w_tvalid,
    .s_axis_w_tready,
    .s_axis_w_tlast,
    .s_axis_a_tdata,
    .s_axis_a_tvalid,
    .s_axis_a_tready,
    .s_axis_a_tlast,
    .m_axis_y_tdata,
    .m_axis_y_tvalid,
    .m_axis_y_tready,
    .m_axis_y_tlast
  );

endmodule

`resetall
