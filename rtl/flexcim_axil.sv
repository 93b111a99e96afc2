// SPDX-License-Identifier: Apache-2.0
//
// Minimal AXI4-Lite slave (32-bit data) in front of the CSR block. A write is
// taken when address and data are both valid and no response is pending, and
// becomes a one-cycle reg_we_o pulse; a read registers reg_rdata_i. Why so
// simple: the CSRs have no side effects on read and a one-cycle write path.
// Responses are always OKAY (unmapped addresses read 0, ARCHITECTURE.md 3).

`resetall
`timescale 1ns / 1ps
`default_nettype none

module flexcim_axil #(
  parameter int AW = 8  // byte-address width
) (
  input  wire           clk_i,          // rising-edge clock
  input  wire           rst_ni,         // synchronous, active low: no response pending
  // AXI4-Lite slave
  input  wire  [AW-1:0] s_axil_awaddr,  // write address
  input  wire  [2:0]    s_axil_awprot,  // write protection (ignored)
  input  wire           s_axil_awvalid, // write address valid
  output logic          s_axil_awready, // write address ready
  input  wire  [31:0]   s_axil_wdata,   // write data
  input  wire  [3:0]    s_axil_wstrb,   // write byte strobes
  input  wire           s_axil_wvalid,  // write data valid
  output logic          s_axil_wready,  // write data ready
  output logic [1:0]    s_axil_bresp,   // write response (always OKAY)
  output logic          s_axil_bvalid,  // write response valid
  input  wire           s_axil_bready,  // write response ready
  input  wire  [AW-1:0] s_axil_araddr,  // read address
  input  wire  [2:0]    s_axil_arprot,  // read protection (ignored)
  input  wire           s_axil_arvalid, // read address valid
  output logic          s_axil_arready, // read address ready
  output logic [31:0]   s_axil_rdata,   // read data
  output logic [1:0]    s_axil_rresp,   // read response (always OKAY)
  output logic          s_axil_rvalid,  // read data valid
  input  wire           s_axil_rready,  // read data ready
  // CSR port
  output logic          reg_we_o,       // write pulse
  output logic [AW-1:0] reg_waddr_o,    // write byte address
  output logic [31:0]   reg_wdata_o,    // write data
  output logic [3:0]    reg_wstrb_o,    // write strobes
  output logic [AW-1:0] reg_raddr_o,    // read byte address
  input  wire  [31:0]   reg_rdata_i     // read data of reg_raddr_o
);

  logic        bvalid_q, rvalid_q;
  logic [31:0] rdata_q;

  // The handshakes are functions of the registered response state alone (no
  // reset gating: the synchronous reset clears bvalid_q / rvalid_q on its first
  // edge, and the CSR block ignores the write pulse while in reset).
  wire wr_fire = s_axil_awvalid && s_axil_wvalid && !bvalid_q;
  wire rd_fire = s_axil_arvalid && !rvalid_q;

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      bvalid_q <= 1'b0;
      rvalid_q <= 1'b0;
    end else begin
      if (wr_fire) begin
        bvalid_q <= 1'b1;
      end else if (s_axil_bready) begin
        bvalid_q <= 1'b0;
      end
      if (rd_fire) begin
        rvalid_q <= 1'b1;
      end else if (s_axil_rready) begin
        rvalid_q <= 1'b0;
      end
    end
  end

  always_ff @(posedge clk_i) begin
    if (!rst_ni) begin
      rdata_q <= '0;
    end else if (rd_fire) begin
      rdata_q <= reg_rdata_i;
    end
  end

  assign s_axil_awready = wr_fire;
  assign s_axil_wready  = wr_fire;
  assign s_axil_bresp   = 2'b00;
  assign s_axil_bvalid  = bvalid_q;
  assign s_axil_arready = rd_fire;
  assign s_axil_rdata   = rdata_q;
  assign s_axil_rresp   = 2'b00;
  assign s_axil_rvalid  = rvalid_q;

  assign reg_we_o    = wr_fire;
  assign reg_waddr_o = s_axil_awaddr;
  assign reg_wdata_o = s_axil_wdata;
  assign reg_wstrb_o = s_axil_wstrb;
  assign reg_raddr_o = s_axil_araddr;

  wire unused_prot = ^{s_axil_awprot, s_axil_arprot};

endmodule : flexcim_axil

`resetall
