// SPDX-License-Identifier: Apache-2.0
//
// Interface and invariant assertions of flexcim_core (ARCHITECTURE.md section 8).
// Only input ports, so it can be bound; flexcim_core instantiates it under
// `ifndef SYNTHESIS because Icarus 11 has no `bind`. Each check is one
// FLEXCIM_ASSERT(name, trigger, property): a concurrent assertion of
// `trigger |-> property` under Verilator (--assert) with a cover point on the
// trigger (counted by --coverage-user), and an immediate fallback in an
// always block elsewhere (Icarus 11 rejects assert statements). Properties
// that need the previous cycle read the *_q sample registers below instead
// of $past/$stable, so both forms check exactly the same thing.
// A failure prints "FLEXCIM-ASSERT <name> failed", bumps fail_count and
// records the first failing name in first_fail (tb.common.assertions reads
// them and fails the cocotb test with that name).

`resetall
`timescale 1ns / 1ps
`default_nettype none

// When to sample and when to check. Verilator (5.048) shows a concurrent
// assertion the post-NBA value of a variable written on the assertion's own
// clock edge (verilator/verilator#7566), so its checks run on the falling
// edge, half a cycle away from both the design's edge and the sample
// registers' (rising-edge) updates. Icarus samples and checks at the falling
// edge, when every input the testbench drives after the rising edge has
// settled (a rising-edge sample could race the testbench's writes there).
`ifdef VERILATOR
`define FLEXCIM_SAMPLE posedge
`define FLEXCIM_ASSERT(name, trigger, prop) \
  name: assert property (@(negedge clk_i) disable iff (!rst_ni) (trigger) |-> (prop)) \
    else note_failure(`"name`"); \
  name``_hit: cover property (@(negedge clk_i) disable iff (!rst_ni) (trigger));
`define FLEXCIM_KNOWN(v) (!$isunknown(v))
`else
`define FLEXCIM_SAMPLE negedge
// Icarus 11's $isunknown misreports concatenations; an XOR reduction is X iff a bit is.
`define FLEXCIM_KNOWN(v) ((^(v)) !== 1'bx)
`define FLEXCIM_ASSERT(name, trigger, prop) \
  always @(negedge clk_i) begin : name \
    if (rst_ni && (trigger) && !(prop)) note_failure(`"name`"); \
  end
`endif

module flexcim_core_assert #(
  parameter int C       = 16,  // columns
  parameter int ACC     = 32,  // accumulator bits
  parameter int W_TDATA = 152, // weight tdata bits
  parameter int A_TDATA = 256  // activation tdata bits
) (
  input wire                clk_i,
  input wire                rst_ni,
  // AXI4-Lite
  input wire  [7:0]         s_axil_awaddr,
  input wire  [2:0]         s_axil_awprot,
  input wire                s_axil_awvalid,
  input wire                s_axil_awready,
  input wire  [31:0]        s_axil_wdata,
  input wire  [3:0]         s_axil_wstrb,
  input wire                s_axil_wvalid,
  input wire                s_axil_wready,
  input wire  [1:0]         s_axil_bresp,
  input wire                s_axil_bvalid,
  input wire                s_axil_bready,
  input wire  [7:0]         s_axil_araddr,
  input wire  [2:0]         s_axil_arprot,
  input wire                s_axil_arvalid,
  input wire                s_axil_arready,
  input wire  [31:0]        s_axil_rdata,
  input wire  [1:0]         s_axil_rresp,
  input wire                s_axil_rvalid,
  input wire                s_axil_rready,
  // AXI4-Stream
  input wire  [W_TDATA-1:0] s_axis_w_tdata,
  input wire                s_axis_w_tvalid,
  input wire                s_axis_w_tready,
  input wire                s_axis_w_tlast,
  input wire  [A_TDATA-1:0] s_axis_a_tdata,
  input wire                s_axis_a_tvalid,
  input wire                s_axis_a_tready,
  input wire                s_axis_a_tlast,
  input wire  [C*ACC-1:0]   m_axis_y_tdata,
  input wire                m_axis_y_tvalid,
  input wire                m_axis_y_tready,
  input wire                m_axis_y_tlast,
  // Controller state (flexcim_ctrl internals)
  input wire  [2:0]         state_i,   // FSM state (flexcim_ctrl.state_e)
  input wire  [31:0]        cycles_i,  // CYCLES counter
  input wire  [31:0]        stalls_i   // STALLS counter
);

  localparam logic [2:0] S_IDLE  = 3'd0;  // = flexcim_ctrl.state_e
  localparam logic [2:0] S_WLOAD = 3'd1;
  localparam logic [2:0] S_ALOAD = 3'd2;
  localparam logic [2:0] S_OUT   = 3'd4;
  localparam logic [2:0] S_LAST  = 3'd4;  // highest legal encoding

  // ------------------------------------------------------------ failure log
  int unsigned      fail_count = 0;
  logic [8*40-1:0]  first_fail = '0;  // name of the first failing assertion, ASCII

  function automatic void note_failure(input logic [8*40-1:0] name);
    $display("FLEXCIM-ASSERT %0s failed at time %0t", name, $time);
    if (fail_count == 0) first_fail = name;
    fail_count = fail_count + 1;
  endfunction

  // ------------------------------------------------ previous-cycle samples
  logic                 live_q = 1'b0;     // the previous sample was out of reset
  logic                 seen_reset_q = 1'b0;
  logic                 awvalid_q, awready_q, wvalid_q, wready_q, arvalid_q, arready_q;
  logic                 bvalid_q, bready_q, rvalid_q, rready_q;
  logic [7:0]           awaddr_q, araddr_q;
  logic [2:0]           awprot_q, arprot_q;
  logic [31:0]          wdata_q, rdata_q;
  logic [3:0]           wstrb_q;
  logic [1:0]           bresp_q, rresp_q;
  logic                 wv_q, wr_q, wl_q, av_q, ar_q, al_q, yv_q, yr_q, yl_q;
  logic [W_TDATA-1:0]   wd_q;
  logic [A_TDATA-1:0]   ad_q;
  logic [C*ACC-1:0]     yd_q;
  logic [2:0]           state_q;
  logic [31:0]          cycles_q, stalls_q;
  logic                 stall_q;

  wire busy  = state_i != S_IDLE;
  wire stall = (state_i == S_WLOAD && !s_axis_w_tvalid) ||
               (state_i == S_ALOAD && !s_axis_a_tvalid) ||
               (state_i == S_OUT && !m_axis_y_tready);

  always @(`FLEXCIM_SAMPLE clk_i) begin
    live_q       <= rst_ni;
    seen_reset_q <= seen_reset_q || !rst_ni;
    {awvalid_q, awready_q, awaddr_q, awprot_q} <=
        {s_axil_awvalid, s_axil_awready, s_axil_awaddr, s_axil_awprot};
    {wvalid_q, wready_q, wdata_q, wstrb_q} <=
        {s_axil_wvalid, s_axil_wready, s_axil_wdata, s_axil_wstrb};
    {arvalid_q, arready_q, araddr_q, arprot_q} <=
        {s_axil_arvalid, s_axil_arready, s_axil_araddr, s_axil_arprot};
    {bvalid_q, bready_q, bresp_q} <= {s_axil_bvalid, s_axil_bready, s_axil_bresp};
    {rvalid_q, rready_q, rdata_q, rresp_q} <=
        {s_axil_rvalid, s_axil_rready, s_axil_rdata, s_axil_rresp};
    {wv_q, wr_q, wl_q, wd_q} <= {s_axis_w_tvalid, s_axis_w_tready, s_axis_w_tlast, s_axis_w_tdata};
    {av_q, ar_q, al_q, ad_q} <= {s_axis_a_tvalid, s_axis_a_tready, s_axis_a_tlast, s_axis_a_tdata};
    {yv_q, yr_q, yl_q, yd_q} <= {m_axis_y_tvalid, m_axis_y_tready, m_axis_y_tlast, m_axis_y_tdata};
    {state_q, cycles_q, stalls_q, stall_q} <= {state_i, cycles_i, stalls_i, stall};
  end

  // --------------------------------------------------------- AXI4-Stream
  // A beat offered and not taken stays offered, unchanged, until taken.
  `FLEXCIM_ASSERT(w_held_until_ready, live_q && wv_q && !wr_q,
                  s_axis_w_tvalid && s_axis_w_tdata == wd_q && s_axis_w_tlast == wl_q)
  `FLEXCIM_ASSERT(a_held_until_ready, live_q && av_q && !ar_q,
                  s_axis_a_tvalid && s_axis_a_tdata == ad_q && s_axis_a_tlast == al_q)
  `FLEXCIM_ASSERT(y_held_until_ready, live_q && yv_q && !yr_q,
                  m_axis_y_tvalid && m_axis_y_tdata == yd_q && m_axis_y_tlast == yl_q)

  // ---------------------------------------------------------- AXI4-Lite
  `FLEXCIM_ASSERT(aw_held_until_ready, live_q && awvalid_q && !awready_q,
                  s_axil_awvalid && s_axil_awaddr == awaddr_q && s_axil_awprot == awprot_q)
  `FLEXCIM_ASSERT(wd_held_until_ready, live_q && wvalid_q && !wready_q,
                  s_axil_wvalid && s_axil_wdata == wdata_q && s_axil_wstrb == wstrb_q)
  `FLEXCIM_ASSERT(ar_held_until_ready, live_q && arvalid_q && !arready_q,
                  s_axil_arvalid && s_axil_araddr == araddr_q && s_axil_arprot == arprot_q)
  `FLEXCIM_ASSERT(b_held_until_ready, live_q && bvalid_q && !bready_q,
                  s_axil_bvalid && s_axil_bresp == bresp_q)
  `FLEXCIM_ASSERT(r_held_until_ready, live_q && rvalid_q && !rready_q,
                  s_axil_rvalid && s_axil_rdata == rdata_q && s_axil_rresp == rresp_q)
  // A response only answers a request: B after an AW+W handshake, R after an AR one.
  `FLEXCIM_ASSERT(b_only_after_write, live_q && s_axil_bvalid && !(bvalid_q && !bready_q),
                  awvalid_q && awready_q && wvalid_q && wready_q)
  `FLEXCIM_ASSERT(r_only_after_read, live_q && s_axil_rvalid && !(rvalid_q && !rready_q),
                  arvalid_q && arready_q)
  `FLEXCIM_ASSERT(responses_okay, s_axil_bvalid || s_axil_rvalid,
                  (!s_axil_bvalid || s_axil_bresp == 2'b00) &&
                  (!s_axil_rvalid || s_axil_rresp == 2'b00))

  // ------------------------------------------------------ controller state
  `FLEXCIM_ASSERT(fsm_state_legal, 1'b1, state_i <= S_LAST)
  `FLEXCIM_ASSERT(no_output_beat_while_idle, m_axis_y_tvalid, state_i == S_OUT)
  `FLEXCIM_ASSERT(no_input_ready_while_idle, s_axis_w_tready || s_axis_a_tready, busy)
  // Inside a job CYCLES counts every edge and STALLS every stall, without wrapping.
  `FLEXCIM_ASSERT(cycles_count_without_wrap, live_q && state_q != S_IDLE,
                  33'(cycles_i) == 33'(cycles_q) + 33'd1)
  `FLEXCIM_ASSERT(stalls_count_without_wrap, live_q && state_q != S_IDLE,
                  33'(stalls_i) == 33'(stalls_q) + 33'(stall_q) && stalls_i <= cycles_i)

  // ------------------------------------------------- no X after reset
  `FLEXCIM_ASSERT(handshakes_known_after_reset, seen_reset_q,
                  `FLEXCIM_KNOWN({s_axil_awready, s_axil_wready, s_axil_bvalid, s_axil_bresp,
                                  s_axil_arready, s_axil_rvalid, s_axil_rresp, s_axis_w_tready,
                                  s_axis_a_tready, m_axis_y_tvalid}))
  `FLEXCIM_ASSERT(rdata_known_when_valid, seen_reset_q && s_axil_rvalid,
                  `FLEXCIM_KNOWN(s_axil_rdata))
  `FLEXCIM_ASSERT(y_known_when_valid, seen_reset_q && m_axis_y_tvalid,
                  `FLEXCIM_KNOWN({m_axis_y_tdata, m_axis_y_tlast}))

endmodule : flexcim_core_assert

`undef FLEXCIM_ASSERT
`undef FLEXCIM_SAMPLE
`undef FLEXCIM_KNOWN

`resetall
