// SPDX-License-Identifier: Apache-2.0
//
// FlexCiM control: the CSRs of ARCHITECTURE.md section 3, the start-time
// configuration checks (error codes 1..6) and the job sequencer
//   IDLE -> (WLOAD -> ALOAD) x NP -> DRAIN (D cycles) -> OUT (T beats) -> IDLE
// with the CYCLES and STALLS counters of section 4. One process per job:
// CSR file, start checks, job registers (latched at start), status, FSM
// (state_d/state_q), position counters, CYCLES/STALLS, read mux.
// Why the stream handshakes live here: every ready/valid is a function of
// the registered state only, so no combinational path runs from an input
// valid (or from rst_ni) to an output ready/valid.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_ctrl #(
  parameter int P       = 4,   // sub-macros, power of two in flexcim_pkg P_MIN..P_MAX
  parameter int R       = 16,  // rows per sub-macro, power of two in R_MIN..R_MAX
  parameter int C       = 16,  // columns (reported in PARAMS only), 1..C_MAX
  parameter int MAX_TOK = 16,  // tokens one job can hold, 1..MAX_TOK_MAX
  parameter int G       = C,   // columns sharing one pair select (PARAMS2 only), divides C
  parameter int RPB     = 1,   // activation rows per beat, divides R
  parameter int FIXED_N = 0,   // baseline pattern N (flexcim_pkg::fixed_ok; 0: FlexCiM)
  parameter int FIXED_M = 0,   // baseline pattern M (a start with other N/M fails, code 6)
  parameter int AW      = 8    // CSR byte-address width
) (
  input  wire                                    clk_i,        // rising-edge clock
  input  wire                                    rst_ni,       // synchronous, active low: idle, CSRs cleared
  // CSR access (from the AXI4-Lite slave)
  input  wire                                    reg_we_i,     // write reg_wdata_i to reg_waddr_i now
  input  wire  [AW-1:0]                          reg_waddr_i,  // write byte address
  input  wire  [31:0]                            reg_wdata_i,  // write data
  input  wire  [3:0]                             reg_wstrb_i,  // write byte strobes
  input  wire  [AW-1:0]                          reg_raddr_i,  // read byte address
  output logic [31:0]                            reg_rdata_o,  // read data of reg_raddr_i (combinational)
  // Stream handshakes
  input  wire                                    w_valid_i,    // weight stream tvalid
  output logic                                   w_ready_o,    // weight stream tready
  input  wire                                    a_valid_i,    // activation stream tvalid
  output logic                                   a_ready_o,    // activation stream tready
  output logic                                   y_valid_o,    // output stream tvalid
  input  wire                                    y_ready_i,    // output stream tready
  output logic                                   y_last_o,     // output stream tlast
  // Datapath control
  output logic                                   w_we_o,       // a weight beat is accepted now
  output logic [$clog2(P*R)-1:0]                 w_idx_o,      // its slot index p*R + r
  output logic                                   a_we_o,       // an activation beat is accepted now
  output logic [(R/RPB > 1 ? $clog2(R/RPB) : 1)-1:0] a_beat_o, // its beat i (rows i*RPB ..)
  output logic                                   issue_o,      // register the products (stage 1)
  output logic                                   start_o,      // a valid start is accepted now
  output logic [$clog2(MAX_TOK+1)-1:0]           tokens_o,     // T of the job (latched at start)
  output logic [$clog2($clog2(P)+1)-1:0]         nlog_o,       // log2(N_hw) of the job
  output logic [$clog2(P):0]                     mhalf_o,      // M_hw / 2 of the job
  output logic [(MAX_TOK > 1 ? $clog2(MAX_TOK) : 1)-1:0] out_tok_o  // token of the offered output beat
);

  localparam int QW    = $clog2(P);
  localparam int NLW   = $clog2(QW + 1);
  localparam int WIW   = $clog2(P * R);
  localparam int RIW   = $clog2(R);
  localparam int BEATS = R / RPB;                    // activation beats per token
  localparam int BIW   = BEATS > 1 ? $clog2(BEATS) : 1;
  localparam int TW    = $clog2(MAX_TOK + 1);
  localparam int TIW   = MAX_TOK > 1 ? $clog2(MAX_TOK) : 1;
  localparam int DRAIN = flexcim_pkg::drain_cycles(P, R);
  localparam int DW    = $clog2(DRAIN);

  // CSR word addresses (byte address / 4)
  localparam logic [AW-3:0] A_CTRL    = (AW-2)'(8'h00 >> 2);
  localparam logic [AW-3:0] A_STATUS  = (AW-2)'(8'h04 >> 2);
  localparam logic [AW-3:0] A_N       = (AW-2)'(8'h08 >> 2);
  localparam logic [AW-3:0] A_M       = (AW-2)'(8'h0C >> 2);
  localparam logic [AW-3:0] A_TOKENS  = (AW-2)'(8'h10 >> 2);
  localparam logic [AW-3:0] A_PASSES  = (AW-2)'(8'h14 >> 2);
  localparam logic [AW-3:0] A_CYCLES  = (AW-2)'(8'h18 >> 2);
  localparam logic [AW-3:0] A_STALLS  = (AW-2)'(8'h1C >> 2);
  localparam logic [AW-3:0] A_PARAMS  = (AW-2)'(8'h20 >> 2);
  localparam logic [AW-3:0] A_VERSION = (AW-2)'(8'h24 >> 2);
  localparam logic [AW-3:0] A_PARAMS2 = (AW-2)'(8'h28 >> 2);
  localparam logic [31:0]   VERSION   = 32'h0001_0000;
  localparam logic [31:0]   PARAMS    = {8'(MAX_TOK), 8'(C), 8'(R), 8'(P)};
  // PARAMS2 counts departures from the original core, so it reads 0 there
  // (G = C, RPB = 1): [7:0] C/G - 1, the extra pair selects per slot row;
  // [15:8] RPB - 1, the extra activation rows per beat; [23:16] FIXED_N and
  // [31:24] FIXED_M, the baseline's one pattern (0, 0: the flexible core).
  localparam logic [31:0]   PARAMS2   = {8'(FIXED_M), 8'(FIXED_N), 8'(RPB - 1), 8'(C / G - 1)};

  initial begin
    if (P < flexcim_pkg::P_MIN || (1 << QW) != P || P > flexcim_pkg::P_MAX)
      $fatal(1, "P (%0d) must be a power of two in %0d..%0d", P, flexcim_pkg::P_MIN, flexcim_pkg::P_MAX);
    if (R < flexcim_pkg::R_MIN || (1 << RIW) != R || R > flexcim_pkg::R_MAX)
      $fatal(1, "R (%0d) must be a power of two in %0d..%0d", R, flexcim_pkg::R_MIN, flexcim_pkg::R_MAX);
    if (C < 1 || C > flexcim_pkg::C_MAX) $fatal(1, "C (%0d) must be in 1..%0d", C, flexcim_pkg::C_MAX);
    if (MAX_TOK < 1 || MAX_TOK > flexcim_pkg::MAX_TOK_MAX)
      $fatal(1, "MAX_TOK (%0d) must be in 1..%0d", MAX_TOK, flexcim_pkg::MAX_TOK_MAX);
    if (G < 1 || G > C || C % G != 0) $fatal(1, "G (%0d) must divide C (%0d)", G, C);
    if (RPB < 1 || RPB > R || R % RPB != 0) $fatal(1, "RPB (%0d) must divide R (%0d)", RPB, R);
    if (flexcim_pkg::fixed_ok(P, FIXED_N, FIXED_M) == 0)
      $fatal(1, "FIXED_N:FIXED_M (%0d:%0d) must be 0:0, P:P (%0d:%0d), 1:2 or 2:4", FIXED_N,
             FIXED_M, P, P);
    if (FIXED_N == 2 && FIXED_M == 4 && G != 1)
      $fatal(1, "G (%0d) must be 1 on the fixed 2:4 core (a per-cell pair select)", G);
    if (AW < 6) $fatal(1, "AW (%0d) must be >= 6 to reach every CSR", AW);
  end

  typedef enum logic [2:0] {
    S_IDLE  = 3'd0,
    S_WLOAD = 3'd1,
    S_ALOAD = 3'd2,
    S_DRAIN = 3'd3,
    S_OUT   = 3'd4
  } state_e;

  state_e         state_q, state_d;
  logic [7:0]     n_q, m_q;            // N_hw, M_hw CSRs
  logic [31:0]    tokens_q;            // T CSR (full width so T > MAX_TOK is caught)
  logic [15:0]    passes_q;            // NP CSR
  logic [TW-1:0]  job_tokens_q;        // T of the running job, latched at start
  logic [15:0]    job_passes_q;        // NP of the running job, latched at start
  logic [NLW-1:0] nlog_q;              // log2(N_hw) of the running job
  logic [QW:0]    mhalf_q;             // M_hw / 2 of the running job
  logic           done_q, err_q;
  logic [3:0]     code_q;
  logic [31:0]    cycles_q, stalls_q;
  logic [WIW-1:0] w_idx_q, w_idx_d;    // next weight slot p*R + r
  logic [BIW-1:0] a_beat_q, a_beat_d;  // next activation beat of the token
  logic [TIW-1:0] a_tok_q, a_tok_d;    // token of the next activation beat
  logic [15:0]    pass_q, pass_d;      // current pass
  logic [DW-1:0]  drain_q, drain_d;    // drain cycles elapsed
  logic [TIW-1:0] out_tok_q, out_tok_d;  // token of the offered output beat
  logic           issue_q;

  // ---------------------------------------------------------------- CSR file
  wire [AW-3:0] waddr = reg_waddr_i[AW-1:2];
  wire [AW-3:0] raddr = reg_raddr_i[AW-1:2];
  wire [31:0]   wmask = {{8{reg_wstrb_i[3]}}, {8{reg_wstrb_i[2]}},
                         {8{reg_wstrb_i[1]}}, {8{reg_wstrb_i[0]}}};
  wire          idle   = state_q == S_IDLE;
  wire          cfg_we = reg_we_i && idle;  // configuration writes only while idle

  wire [31:0] n_new      = ({24'd0, n_q} & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] m_new      = ({24'd0, m_q} & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] tokens_new = (tokens_q & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] passes_new = ({16'd0, passes_q} & ~wmask) | (reg_wdata_i & wmask);
  wire unused_new_msbs  = ^{n_new[31:8], m_new[31:8], passes_new[31:16]};
  wire unused_addr_lsbs = ^{reg_waddr_i[1:0], reg_raddr_i[1:0]};

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      n_q      <= '0;
      m_q      <= '0;
      tokens_q <= '0;
      passes_q <= '0;
    end else if (cfg_we) begin
      if (waddr == A_N)      n_q      <= n_new[7:0];
      if (waddr == A_M)      m_q      <= m_new[7:0];
      if (waddr == A_TOKENS) tokens_q <= tokens_new;
      if (waddr == A_PASSES) passes_q <= passes_new[15:0];
    end
  end

  // ------------------------------------------------------- start-time checks
  wire       n_pow2 = n_q != 8'd0 && (n_q & (n_q - 8'd1)) == 8'd0 && 32'(n_q) <= P;
  wire       m_ok   = m_q != 8'd0 && !m_q[0] && 32'(m_q) <= 2 * P;
  wire       t_ok   = tokens_q != 32'd0 && tokens_q <= 32'(MAX_TOK);
  // A baseline serves its one hardware pattern only; FlexCiM (0, 0) every legal one.
  wire       pattern_served = FIXED_M == 0 || (32'(n_q) == FIXED_N && 32'(m_q) == FIXED_M);
  logic [3:0] code_d;
  always_comb begin
    if (!n_pow2)                code_d = 4'd1;
    else if (!m_ok)             code_d = 4'd2;
    else if (n_q > m_q)         code_d = 4'd3;
    else if (!t_ok)             code_d = 4'd4;
    else if (passes_q == 16'd0) code_d = 4'd5;
    else if (!pattern_served)   code_d = 4'd6;
    else                        code_d = 4'd0;
  end

  // log2(N_hw); only meaningful when N_hw passed check 1 (a power of two <= P).
  logic [NLW-1:0] nlog_d;
  always_comb begin
    nlog_d = '0;
    for (int i = 0; i <= QW; i++) begin
      if (n_q[i]) nlog_d = NLW'(i);
    end
  end

  wire start_req = reg_we_i && waddr == A_CTRL && reg_wstrb_i[0] && reg_wdata_i[0];
  wire start_ok  = start_req && idle && code_d == 4'd0;
  wire start_bad = start_req && idle && code_d != 4'd0;

  // ------------------------------------------ job registers, latched at start
  // The datapath and the sequencer read only these, so the job does not rest
  // on the busy-write rule of the CSRs.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      job_tokens_q <= '0;
      job_passes_q <= '0;
      nlog_q       <= '0;
      mhalf_q      <= '0;
    end else if (start_ok) begin
      job_tokens_q <= TW'(tokens_q);  // t_ok: tokens_q <= MAX_TOK fits TW bits
      job_passes_q <= passes_q;
      nlog_q       <= nlog_d;
      mhalf_q      <= m_q[QW+1:1];
    end
  end

  // ---------------------------------------------------------------- sequencer
  wire w_fire = w_valid_i && w_ready_o;
  wire a_fire = a_valid_i && a_ready_o;
  wire y_fire = y_valid_o && y_ready_i;

  wire w_last    = 32'(w_idx_q) == P * R - 1;
  wire a_lastrow = 32'(a_beat_q) == BEATS - 1;  // the token's last beat
  wire a_lasttok = 32'(a_tok_q) + 32'd1 == 32'(job_tokens_q);
  wire lastpass  = pass_q + 16'd1 == job_passes_q;
  wire drained   = 32'(drain_q) == DRAIN - 1;
  wire out_last  = 32'(out_tok_q) + 32'd1 == 32'(job_tokens_q);

  always_comb begin
    state_d = state_q;
    case (state_q)
      S_IDLE:  if (start_ok) state_d = S_WLOAD;
      S_WLOAD: if (w_fire && w_last) state_d = S_ALOAD;
      S_ALOAD: begin
        if (a_fire && a_lastrow && a_lasttok) begin
          if (lastpass) state_d = S_DRAIN;
          else          state_d = S_WLOAD;
        end
      end
      S_DRAIN: if (drained) state_d = S_OUT;
      S_OUT:   if (y_fire && out_last) state_d = S_IDLE;
      default: state_d = S_IDLE;
    endcase
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q <= S_IDLE;
    end else begin
      state_q <= state_d;
    end
  end

  // Position counters: each restarts at 0 on start and wraps to 0 at its last value.
  always_comb begin
    w_idx_d   = w_idx_q;
    a_beat_d  = a_beat_q;
    a_tok_d   = a_tok_q;
    pass_d    = pass_q;
    drain_d   = drain_q;
    out_tok_d = out_tok_q;
    if (start_ok) begin
      w_idx_d   = '0;
      a_beat_d  = '0;
      a_tok_d   = '0;
      pass_d    = '0;
      out_tok_d = '0;
    end
    if (w_fire) w_idx_d = w_last ? '0 : w_idx_q + 1'b1;
    if (a_fire) begin
      a_beat_d = a_lastrow ? '0 : a_beat_q + 1'b1;
      if (a_lastrow) begin
        a_tok_d = a_lasttok ? '0 : a_tok_q + 1'b1;
        if (a_lasttok && !lastpass) pass_d = pass_q + 16'd1;
      end
    end
    drain_d = state_q == S_DRAIN ? drain_q + 1'b1 : '0;
    if (y_fire) out_tok_d = out_tok_q + 1'b1;
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      w_idx_q   <= '0;
      a_beat_q  <= '0;
      a_tok_q   <= '0;
      pass_q    <= '0;
      drain_q   <= '0;
      out_tok_q <= '0;
      issue_q   <= 1'b0;
    end else begin
      w_idx_q   <= w_idx_d;
      a_beat_q  <= a_beat_d;
      a_tok_q   <= a_tok_d;
      pass_q    <= pass_d;
      drain_q   <= drain_d;
      out_tok_q <= out_tok_d;
      issue_q   <= a_fire && a_lastrow;  // the token issues on the next edge
    end
  end

  // ----------------------------------------------------------------- status
  // A failing start reports its code and clears done; a valid start clears
  // both; the last output beat sets done.
  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      done_q <= 1'b0;
      err_q  <= 1'b0;
      code_q <= '0;
    end else if (start_bad) begin
      done_q <= 1'b0;
      err_q  <= 1'b1;
      code_q <= code_d;
    end else if (start_ok) begin
      done_q <= 1'b0;
      err_q  <= 1'b0;
      code_q <= '0;
    end else if (y_fire && out_last) begin
      done_q <= 1'b1;
    end
  end

  // ------------------------------------------------------ CYCLES and STALLS
  // Every busy edge counts; a stall is a busy edge whose state's stream is idle.
  wire stall = (state_q == S_WLOAD && !w_valid_i) || (state_q == S_ALOAD && !a_valid_i) ||
               (state_q == S_OUT && !y_ready_i);

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      cycles_q <= '0;
      stalls_q <= '0;
    end else if (start_ok) begin
      cycles_q <= '0;
      stalls_q <= '0;
    end else if (!idle) begin
      cycles_q <= cycles_q + 32'd1;
      if (stall) stalls_q <= stalls_q + 32'd1;
    end
  end

  // -------------------------------------------------------------- outputs
  // Handshakes are functions of the registered state alone (no reset gating:
  // the synchronous reset clears state_q on the first reset edge).
  assign w_ready_o = state_q == S_WLOAD;
  assign a_ready_o = state_q == S_ALOAD;
  assign y_valid_o = state_q == S_OUT;
  assign y_last_o  = y_valid_o && out_last;

  assign w_we_o    = w_fire;
  assign w_idx_o   = w_idx_q;
  assign a_we_o    = a_fire;
  assign a_beat_o  = a_beat_q;
  assign issue_o   = issue_q;
  assign start_o   = start_ok;
  assign tokens_o  = job_tokens_q;
  assign nlog_o    = nlog_q;
  assign mhalf_o   = mhalf_q;
  assign out_tok_o = out_tok_q;

  // ---------------------------------------------------------------- CSR reads
  // CTRL (write-only) and unmapped addresses read 0.
  always_comb begin
    case (raddr)
      A_STATUS:  reg_rdata_o = {20'd0, code_q, 5'd0, err_q, done_q, !idle};
      A_N:       reg_rdata_o = {24'd0, n_q};
      A_M:       reg_rdata_o = {24'd0, m_q};
      A_TOKENS:  reg_rdata_o = tokens_q;
      A_PASSES:  reg_rdata_o = {16'd0, passes_q};
      A_CYCLES:  reg_rdata_o = cycles_q;
      A_STALLS:  reg_rdata_o = stalls_q;
      A_PARAMS:  reg_rdata_o = PARAMS;
      A_VERSION: reg_rdata_o = VERSION;
      A_PARAMS2: reg_rdata_o = PARAMS2;
      default:   reg_rdata_o = 32'd0;
    endcase
  end

endmodule : flexcim_ctrl

`resetall
