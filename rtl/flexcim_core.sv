// SPDX-License-Identifier: Apache-2.0
//
// FlexCiM core top: P sub-macros of R x C cells with per-slot pair
// distribution, a merge tree with output accumulation, CSRs over AXI4-Lite and
// three AXI4-Stream ports (weights, activations, outputs). The interfaces,
// schedule and cycle model are ARCHITECTURE.md sections 3 and 4:
//   CYCLES = NP*(P*R + T*R/RPB) + D + T,  D = log2 R + log2 P + 2.
// Why the datapath never stalls: a token issues the edge after its last
// activation beat and flows through a fixed-latency pipeline; back-pressure is
// absorbed by the streams (WLOAD/ALOAD wait for tvalid, OUT waits for tready).
// FIXED_N/FIXED_M build the comparison baselines of ARCHITECTURE.md 1 and 4 on
// the same interface: (P, P) the dense DCiM macro (no b, no q, no pair mux),
// (1, 2) and (2, 4) the fixed-pattern sparse cores (b per cell; 2:4 adds a
// per-cell 2:1 pair select, G = 1). A start with other N/M CSRs fails with
// code 6. (0, 0), the default, is the flexible FlexCiM core.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_core #(
  parameter int P       = 4,   // sub-macros (partition factor), power of two >= 2
  parameter int R       = 16,  // rows per sub-macro, power of two >= 2
  parameter int C       = 16,  // columns (output channels) per macro
  parameter int WB      = 8,   // weight bits, two's complement
  parameter int AB      = 8,   // activation bits, two's complement
  parameter int ACC     = 32,  // output accumulator bits, two's complement, wrapping
  parameter int MAX_TOK = 16,  // tokens one job can hold
  parameter int G       = C,   // columns sharing one pair select (divides C; C: one per slot row)
  parameter int RPB     = 1,   // activation rows per beat (divides R; R: one token per beat)
  parameter int FIXED_N = 0,   // baseline pattern N: 0 FlexCiM, P dense DCiM, 1 or 2 fixed sparse
  parameter int FIXED_M = 0    // baseline pattern M: 0 FlexCiM, P dense DCiM, 2 or 4 fixed sparse
) (
  input  wire                                        clk_i,           // rising-edge clock
  input  wire                                        rst_ni,          // synchronous, active low
  // AXI4-Lite CSR slave (ARCHITECTURE.md 3), 8-bit byte addresses, 32-bit data
  input  wire  [7:0]                                 s_axil_awaddr,   // write address
  input  wire  [2:0]                                 s_axil_awprot,   // write protection (ignored)
  input  wire                                        s_axil_awvalid,  // write address valid
  output logic                                       s_axil_awready,  // write address ready
  input  wire  [31:0]                                s_axil_wdata,    // write data
  input  wire  [3:0]                                 s_axil_wstrb,    // write byte strobes
  input  wire                                        s_axil_wvalid,   // write data valid
  output logic                                       s_axil_wready,   // write data ready
  output logic [1:0]                                 s_axil_bresp,    // write response (OKAY)
  output logic                                       s_axil_bvalid,   // write response valid
  input  wire                                        s_axil_bready,   // write response ready
  input  wire  [7:0]                                 s_axil_araddr,   // read address
  input  wire  [2:0]                                 s_axil_arprot,   // read protection (ignored)
  input  wire                                        s_axil_arvalid,  // read address valid
  output logic                                       s_axil_arready,  // read address ready
  output logic [31:0]                                s_axil_rdata,    // read data
  output logic [1:0]                                 s_axil_rresp,    // read response (OKAY)
  output logic                                       s_axil_rvalid,   // read data valid
  input  wire                                        s_axil_rready,   // read data ready
  // Weight stream: one slot row (C weights, C metadata bits, C/G selects q) per beat
  input  wire  [flexcim_pkg::w_tdata_bits(P, C, WB, G)-1:0] s_axis_w_tdata,  // W_TDATA bits
  input  wire                                        s_axis_w_tvalid, // weight beat valid
  output logic                                       s_axis_w_tready, // weight beat taken
  input  wire                                        s_axis_w_tlast,  // end of pass (ignored)
  // Activation stream: RPB macro rows of one token (2*P*P lanes each) per beat
  input  wire  [flexcim_pkg::a_tdata_bits(P, AB, RPB)-1:0] s_axis_a_tdata,  // A_TDATA bits
  input  wire                                        s_axis_a_tvalid, // activation beat valid
  output logic                                       s_axis_a_tready, // activation beat taken
  input  wire                                        s_axis_a_tlast,  // end of token (ignored)
  // Output stream: one token's C accumulators per beat
  output logic [C*ACC-1:0]                           m_axis_y_tdata,  // Y_TDATA bits, lane c at [c*ACC +: ACC]
  output logic                                       m_axis_y_tvalid, // output beat valid
  input  wire                                        m_axis_y_tready, // output beat taken
  output logic                                       m_axis_y_tlast   // last token of the job
);

  localparam int QW      = $clog2(P);                 // pair-select bits, max(1, log2 P) for P >= 2
  localparam int NLW     = $clog2(QW + 1);
  localparam int SELS    = C / G;                     // pair selects per slot row
  localparam int W_TDATA = flexcim_pkg::w_tdata_bits(P, C, WB, G);
  localparam int ROW_W   = 2*P*P*AB;                  // one macro row of activations
  localparam int A_TDATA = flexcim_pkg::a_tdata_bits(P, AB, RPB);
  localparam int A_BEATS = R / RPB;                   // activation beats per token
  localparam int BIW     = A_BEATS > 1 ? $clog2(A_BEATS) : 1;
  localparam int RIW     = $clog2(R);
  localparam int SW      = WB + AB + $clog2(R);       // column-sum width
  localparam int WIW     = $clog2(P * R);
  localparam int TW      = $clog2(MAX_TOK + 1);
  localparam int TIW     = MAX_TOK > 1 ? $clog2(MAX_TOK) : 1;
  localparam int AXIL_AW = 8;
  // Stored pair-select bits per select group: QW (FlexCiM), 1 (fixed 2:4), 0 (dense, 1:2).
  localparam int QSB     = flexcim_pkg::q_store_bits(P, FIXED_N, FIXED_M);
  localparam int META    = flexcim_pkg::has_meta(FIXED_N, FIXED_M);

  // P, R, C and MAX_TOK are checked against the flexcim_pkg limits by u_ctrl
  // (their one home); the sub-blocks check their own structural rules.

  // ------------------------------------------------------------------ CSRs
  wire                reg_we;
  wire [AXIL_AW-1:0]  reg_waddr, reg_raddr;
  wire [31:0]         reg_wdata, reg_rdata;
  wire [3:0]          reg_wstrb;

  flexcim_axil #(
    .AW(AXIL_AW)
  ) u_axil (
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
    .reg_we_o   (reg_we),
    .reg_waddr_o(reg_waddr),
    .reg_wdata_o(reg_wdata),
    .reg_wstrb_o(reg_wstrb),
    .reg_raddr_o(reg_raddr),
    .reg_rdata_i(reg_rdata)
  );

  // ------------------------------------------------------------ sequencer
  wire            w_we, a_we, issue, start;
  wire [WIW-1:0]  w_idx;
  wire [BIW-1:0]  a_beat;
  wire [TW-1:0]   tokens;
  wire [NLW-1:0]  nlog;
  wire [QW:0]     mhalf;
  wire [TIW-1:0]  out_tok;

  flexcim_ctrl #(
    .P      (P),
    .R      (R),
    .C      (C),
    .MAX_TOK(MAX_TOK),
    .G      (G),
    .RPB    (RPB),
    .FIXED_N(FIXED_N),
    .FIXED_M(FIXED_M),
    .AW     (AXIL_AW)
  ) u_ctrl (
    .clk_i,
    .rst_ni,
    .reg_we_i   (reg_we),
    .reg_waddr_i(reg_waddr),
    .reg_wdata_i(reg_wdata),
    .reg_wstrb_i(reg_wstrb),
    .reg_raddr_i(reg_raddr),
    .reg_rdata_o(reg_rdata),
    .w_valid_i  (s_axis_w_tvalid),
    .w_ready_o  (s_axis_w_tready),
    .a_valid_i  (s_axis_a_tvalid),
    .a_ready_o  (s_axis_a_tready),
    .y_valid_o  (m_axis_y_tvalid),
    .y_ready_i  (m_axis_y_tready),
    .y_last_o   (m_axis_y_tlast),
    .w_we_o     (w_we),
    .w_idx_o    (w_idx),
    .a_we_o     (a_we),
    .a_beat_o   (a_beat),
    .issue_o    (issue),
    .start_o    (start),
    .tokens_o   (tokens),
    .nlog_o     (nlog),
    .mhalf_o    (mhalf),
    .out_tok_o  (out_tok)
  );

  // ------------------------------------------- weight beat, q, activation rows
  wire [C*WB-1:0] beat_w = s_axis_w_tdata[C*WB-1:0];
  wire [C-1:0]    beat_b = s_axis_w_tdata[C*WB +: C];
  wire [SELS*QW-1:0] beat_q = s_axis_w_tdata[C*WB + C +: SELS*QW];  // select g at [g*QW +: QW]
  wire [P*R-1:0]  slot_we = {{(P*R-1){1'b0}}, w_we} << w_idx;  // one-hot slot p*R + r

  logic [P*R*SELS*QW-1:0] q_q;           // selects of slot p*R + r at [(p*R + r)*SELS*QW +: SELS*QW]
  logic [ROW_W-1:0]   act_q [0:R-1];     // activation buffer, one token

  // Pair-select storage: QW bits per select (FlexCiM), the low bit only (fixed
  // 2:4, read back zero-extended), none (dense, fixed 1:2: the pair is wired).
  if (QSB == QW) begin : gen_q_store
    always_ff @(posedge clk_i) begin
      if (w_we) begin
        q_q[w_idx*SELS*QW +: SELS*QW] <= beat_q;
      end
    end
  end else if (QSB > 0) begin : gen_q_low
    logic [P*R*SELS*QSB-1:0] q_low_q;
    always_ff @(posedge clk_i) begin
      if (w_we) begin
        for (int g = 0; g < SELS; g++) begin
          q_low_q[(32'(w_idx)*SELS + g)*QSB +: QSB] <= beat_q[g*QW +: QSB];
        end
      end
    end
    for (genvar i = 0; i < P*R*SELS; i++) begin : gen_ext
      assign q_q[i*QW +: QW] = QW'(q_low_q[i*QSB +: QSB]);
    end
  end else begin : gen_q_none
    assign q_q = '0;
    wire unused_q = ^beat_q;  // the beat's select field is ignored (same beat format)
  end

  always_ff @(posedge clk_i) begin
    if (a_we) begin  // beat i holds rows i*RPB .. i*RPB + RPB-1, row j at [j*ROW_W +: ROW_W]
      for (int j = 0; j < RPB; j++) begin
        act_q[RIW'(32'(a_beat) * RPB + j)] <= s_axis_a_tdata[j*ROW_W +: ROW_W];
      end
    end
  end

  // --------------------------------------------------------- distribution
  // Slot (p, r), select group g: pair at [((p*R + r)*SELS + g)*2*AB +: 2*AB].
  localparam int PAIRW = SELS*2*AB;  // the pairs of one slot
  wire [P*R*PAIRW-1:0] pairs;

  for (genvar r = 0; r < R; r++) begin : gen_dist
    wire [P*SELS*QW-1:0] q_row;
    wire [P*PAIRW-1:0]   pairs_row;
    for (genvar p = 0; p < P; p++) begin : gen_slot
      assign q_row[p*SELS*QW +: SELS*QW] = q_q[(p*R + r)*SELS*QW +: SELS*QW];
      assign pairs[(p*R + r)*PAIRW +: PAIRW] = pairs_row[p*PAIRW +: PAIRW];
    end
    flexcim_distribution #(
      .P (P),
      .AB(AB),
      .C (C),
      .G (G),
      .FIXED_N(FIXED_N),
      .FIXED_M(FIXED_M)
    ) u_dist (
      .row_i  (act_q[r]),
      .q_i    (q_row),
      .nlog_i (nlog),
      .mhalf_i(mhalf),
      .pairs_o(pairs_row)
    );
  end

  // ------------------------------------------------------------ sub-macros
  wire [P-1:0]      sm_valid;
  wire [P*C*SW-1:0] sm_sum;

  for (genvar p = 0; p < P; p++) begin : gen_submacro
    flexcim_submacro #(
      .R (R),
      .C (C),
      .WB(WB),
      .AB(AB),
      .G (G),
      .META(META)
    ) u_submacro (
      .clk_i,
      .rst_ni,
      .we_i   (slot_we[p*R +: R]),
      .w_i    (beat_w),
      .b_i    (beat_b),
      .pairs_i(pairs[p*R*PAIRW +: R*PAIRW]),
      .issue_i(issue),
      .valid_o(sm_valid[p]),
      .sum_o  (sm_sum[p*C*SW +: C*SW])
    );
  end

  // ------------------------------------------------- merge and accumulate
  wire [C*ACC-1:0] acc_rd;

  flexcim_merge #(
    .P      (P),
    .R      (R),
    .C      (C),
    .WB     (WB),
    .AB     (AB),
    .ACC    (ACC),
    .MAX_TOK(MAX_TOK)
  ) u_merge (
    .clk_i,
    .rst_ni,
    .start_i  (start),
    .tokens_i (tokens),
    .valid_i  (&sm_valid),
    .sums_i   (sm_sum),
    .rd_tok_i (out_tok),
    .rd_data_o(acc_rd)
  );

  assign m_axis_y_tdata = m_axis_y_tvalid ? acc_rd : '0;

`ifndef SYNTHESIS
  // ------------------------------------------------------------ assertions
  // Interface and invariant checks (flexcim_core_assert, ARCHITECTURE.md 8).
  flexcim_core_assert #(
    .C      (C),
    .ACC    (ACC),
    .W_TDATA(W_TDATA),
    .A_TDATA(A_TDATA)
  ) u_assert (
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
    .m_axis_y_tlast,
    .state_i (u_ctrl.state_q),
    .cycles_i(u_ctrl.cycles_q),
    .stalls_i(u_ctrl.stalls_q)
  );
`endif

  wire unused_stream = ^{s_axis_w_tlast, s_axis_a_tlast, s_axis_w_tdata[W_TDATA-1:C*WB + C]};

endmodule : flexcim_core

`resetall
