// SPDX-License-Identifier: Apache-2.0
//
// FlexCiM control: the CSRs of ARCHITECTURE.md section 3, the start-time
// configuration checks (error codes 1..5) and the job sequencer
//   IDLE -> (WLOAD -> ALOAD) x NP -> DRAIN (D cycles) -> OUT (T beats) -> IDLE
// with the CYCLES and STALLS counters of section 4. Why the stream handshakes
// live here: every ready/valid is a function of the registered state only, so
// no combinational path runs from an input valid to an output ready.

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_ctrl #(
  parameter int P       = 4,   // sub-macros, power of two >= 2
  parameter int R       = 16,  // rows per sub-macro, power of two >= 2
  parameter int C       = 16,  // columns (reported in PARAMS only)
  parameter int MAX_TOK = 16,  // tokens one job can hold
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
  output logic [$clog2(R)-1:0]                   a_row_o,      // its row r
  output logic                                   issue_o,      // register the products (stage 1)
  output logic                                   start_o,      // a valid start is accepted now
  output logic [$clog2(MAX_TOK+1)-1:0]           tokens_o,     // T of the job
  output logic [$clog2($clog2(P)+1)-1:0]         nlog_o,       // log2(N_hw) of the job
  output logic [$clog2(P):0]                     mhalf_o,      // M_hw / 2 of the job
  output logic [(MAX_TOK > 1 ? $clog2(MAX_TOK) : 1)-1:0] out_tok_o  // token of the offered output beat
);

  localparam int QW   = $clog2(P);
  localparam int NLW  = $clog2(QW + 1);
  localparam int WIW  = $clog2(P * R);
  localparam int RIW  = $clog2(R);
  localparam int TW   = $clog2(MAX_TOK + 1);
  localparam int TIW  = MAX_TOK > 1 ? $clog2(MAX_TOK) : 1;
  localparam int DRAIN = $clog2(R) + $clog2(P) + 2;  // = golden.cycle_model.drain_cycles
  localparam int DW   = $clog2(DRAIN);

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
  localparam logic [31:0]   VERSION   = 32'h0001_0000;
  localparam logic [31:0]   PARAMS    = {8'(MAX_TOK), 8'(C), 8'(R), 8'(P)};

  initial begin
    if (P < 2 || (1 << QW) != P || P > 64) $fatal(1, "P (%0d) must be a power of two in 2..64", P);
    if (R < 2 || (1 << RIW) != R || R > 128) $fatal(1, "R (%0d) must be a power of two in 2..128", R);
    if (C < 1 || C > 255) $fatal(1, "C (%0d) must be in 1..255", C);
    if (MAX_TOK < 1 || MAX_TOK > 255) $fatal(1, "MAX_TOK (%0d) must be in 1..255", MAX_TOK);
    if (AW < 6) $fatal(1, "AW (%0d) must be >= 6 to reach every CSR", AW);
  end

  typedef enum logic [2:0] {
    S_IDLE  = 3'd0,
    S_WLOAD = 3'd1,
    S_ALOAD = 3'd2,
    S_DRAIN = 3'd3,
    S_OUT   = 3'd4
  } state_e;

  state_e         state_q;
  logic [7:0]     n_q, m_q;          // N_hw, M_hw CSRs
  logic [31:0]    tokens_q;          // T CSR (full width so T > MAX_TOK is caught)
  logic [15:0]    passes_q;          // NP CSR
  logic [31:0]    cycles_q, stalls_q;
  logic           done_q, err_q;
  logic [3:0]     code_q;
  logic [NLW-1:0] nlog_q;
  logic [QW:0]    mhalf_q;
  logic [WIW-1:0] w_idx_q;
  logic [RIW-1:0] a_row_q;
  logic [TIW-1:0] a_tok_q, out_tok_q;
  logic [15:0]    pass_q;
  logic [DW-1:0]  drain_q;
  logic           issue_q;

  // ---------------------------------------------------------------- CSR writes
  wire [AW-3:0] waddr = reg_waddr_i[AW-1:2];
  wire [AW-3:0] raddr = reg_raddr_i[AW-1:2];
  wire [31:0]   wmask = {{8{reg_wstrb_i[3]}}, {8{reg_wstrb_i[2]}},
                         {8{reg_wstrb_i[1]}}, {8{reg_wstrb_i[0]}}};
  wire          idle  = state_q == S_IDLE;
  wire          cfg_we = reg_we_i && idle;  // configuration writes only while idle

  wire [31:0] n_new      = ({24'd0, n_q} & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] m_new      = ({24'd0, m_q} & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] tokens_new = (tokens_q & ~wmask) | (reg_wdata_i & wmask);
  wire [31:0] passes_new = ({16'd0, passes_q} & ~wmask) | (reg_wdata_i & wmask);
  wire unused_new_msbs = ^{n_new[31:8], m_new[31:8], passes_new[31:16]};
  wire unused_addr_lsbs = ^{reg_waddr_i[1:0], reg_raddr_i[1:0]};

  // ------------------------------------------------------- start-time checks
  wire       n_pow2 = n_q != 8'd0 && (n_q & (n_q - 8'd1)) == 8'd0 && 32'(n_q) <= P;
  wire       m_ok   = m_q != 8'd0 && !m_q[0] && 32'(m_q) <= 2 * P;
  wire       t_ok   = tokens_q != 32'd0 && tokens_q <= 32'(MAX_TOK);
  logic [3:0] code_d;
  always_comb begin
    if (!n_pow2)               code_d = 4'd1;
    else if (!m_ok)            code_d = 4'd2;
    else if (n_q > m_q)        code_d = 4'd3;
    else if (!t_ok)            code_d = 4'd4;
    else if (passes_q == 16'd0) code_d = 4'd5;
    else                       code_d = 4'd0;
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

  // --------------------------------------------------------------- handshakes
  wire w_fire = w_valid_i && w_ready_o;
  wire a_fire = a_valid_i && a_ready_o;
  wire y_fire = y_valid_o && y_ready_i;

  wire w_last    = 32'(w_idx_q) == P * R - 1;
  wire a_lastrow = 32'(a_row_q) == R - 1;
  wire a_lasttok = 32'(a_tok_q) + 32'd1 == tokens_q;
  wire lastpass  = pass_q + 16'd1 == passes_q;
  wire drained   = 32'(drain_q) == DRAIN - 1;
  wire out_last  = 32'(out_tok_q) + 32'd1 == tokens_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      state_q   <= S_IDLE;
      n_q       <= '0;
      m_q       <= '0;
      tokens_q  <= '0;
      passes_q  <= '0;
      cycles_q  <= '0;
      stalls_q  <= '0;
      done_q    <= 1'b0;
      err_q     <= 1'b0;
      code_q    <= '0;
      nlog_q    <= '0;
      mhalf_q   <= '0;
      w_idx_q   <= '0;
      a_row_q   <= '0;
      a_tok_q   <= '0;
      out_tok_q <= '0;
      pass_q    <= '0;
      drain_q   <= '0;
      issue_q   <= 1'b0;
    end else begin
      // Configuration CSRs
      if (cfg_we && waddr == A_N)      n_q      <= n_new[7:0];
      if (cfg_we && waddr == A_M)      m_q      <= m_new[7:0];
      if (cfg_we && waddr == A_TOKENS) tokens_q <= tokens_new;
      if (cfg_we && waddr == A_PASSES) passes_q <= passes_new[15:0];

      // The last beat of a token issues the token on the next edge.
      issue_q <= a_fire && a_lastrow;

      // Counters: every busy edge, stalls when the stream of the state is idle.
      if (!idle) begin
        cycles_q <= cycles_q + 32'd1;
        if ((state_q == S_WLOAD && !w_valid_i) || (state_q == S_ALOAD && !a_valid_i) ||
            (state_q == S_OUT && !y_ready_i)) begin
          stalls_q <= stalls_q + 32'd1;
        end
      end

      if (start_bad) begin
        err_q  <= 1'b1;
        code_q <= code_d;
        done_q <= 1'b0;
      end

      case (state_q)
        S_IDLE: begin
          if (start_ok) begin
            state_q   <= S_WLOAD;
            err_q     <= 1'b0;
            code_q    <= '0;
            done_q    <= 1'b0;
            cycles_q  <= '0;
            stalls_q  <= '0;
            nlog_q    <= nlog_d;
            mhalf_q   <= m_q[QW+1:1];
            w_idx_q   <= '0;
            a_row_q   <= '0;
            a_tok_q   <= '0;
            pass_q    <= '0;
            out_tok_q <= '0;
          end
        end
        S_WLOAD: begin
          if (w_fire) begin
            w_idx_q <= w_idx_q + 1'b1;
            if (w_last) begin
              w_idx_q <= '0;
              state_q <= S_ALOAD;
            end
          end
        end
        S_ALOAD: begin
          if (a_fire) begin
            a_row_q <= a_row_q + 1'b1;
            if (a_lastrow) begin
              a_row_q <= '0;
              a_tok_q <= a_tok_q + 1'b1;
              if (a_lasttok) begin
                a_tok_q <= '0;
                if (lastpass) begin
                  drain_q <= '0;
                  state_q <= S_DRAIN;
                end else begin
                  pass_q  <= pass_q + 16'd1;
                  state_q <= S_WLOAD;
                end
              end
            end
          end
        end
        S_DRAIN: begin
          drain_q <= drain_q + 1'b1;
          if (drained) begin
            state_q <= S_OUT;
          end
        end
        S_OUT: begin
          if (y_fire) begin
            out_tok_q <= out_tok_q + 1'b1;
            if (out_last) begin
              state_q <= S_IDLE;
              done_q  <= 1'b1;
            end
          end
        end
        default: state_q <= S_IDLE;
      endcase
    end
  end

  // Stream handshakes depend on the registered state only (and are low in reset).
  assign w_ready_o = rst_ni && state_q == S_WLOAD;
  assign a_ready_o = rst_ni && state_q == S_ALOAD;
  assign y_valid_o = rst_ni && state_q == S_OUT;
  assign y_last_o  = y_valid_o && out_last;

  assign w_we_o    = w_fire;
  assign w_idx_o   = w_idx_q;
  assign a_we_o    = a_fire;
  assign a_row_o   = a_row_q;
  assign issue_o   = issue_q;
  assign start_o   = start_ok;
  assign tokens_o  = TW'(tokens_q);
  assign nlog_o    = nlog_q;
  assign mhalf_o   = mhalf_q;
  assign out_tok_o = out_tok_q;

  // ---------------------------------------------------------------- CSR reads
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
      default:   reg_rdata_o = 32'd0;
    endcase
  end

endmodule : flexcim_ctrl

`resetall
