// Raw Verilator ceiling of the fast-path model: no cocotb, no VPI, no Python.
// Drives flexcim_fast_tb's ports from C++ (AXI4-Lite CSR writes, load, start)
// and runs the job in w.hex / a.hex of the working folder `repeats` times.
// Usage: ceiling <w_beats> <a_beats> <N> <M> <tokens> <passes> <repeats>
// Prints: cycles (CSR CYCLES of the last run) total_cycles seconds cycles_per_s;
// writes the last run's output beats to y.hex.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "Vceiling.h"
#include "verilated.h"

namespace {
Vceiling* top;
uint64_t edges = 0;

void cycle() {
    top->clk_i = 1;
    top->eval();
    top->clk_i = 0;
    top->eval();
    ++edges;
}

void csr_write(uint32_t addr, uint32_t value) {
    top->s_axil_awaddr = addr;
    top->s_axil_awvalid = 1;
    top->s_axil_wdata = value;
    top->s_axil_wstrb = 0xF;
    top->s_axil_wvalid = 1;
    top->s_axil_bready = 1;
    top->eval();
    while (top->s_axil_awvalid || top->s_axil_wvalid) {
        const bool aw = top->s_axil_awready, w = top->s_axil_wready;
        cycle();
        if (aw) top->s_axil_awvalid = 0;
        if (w) top->s_axil_wvalid = 0;
        top->eval();
    }
    while (!top->s_axil_bvalid) cycle();
    cycle();
    top->s_axil_bready = 0;
}

uint32_t csr_read(uint32_t addr) {
    top->s_axil_araddr = addr;
    top->s_axil_arvalid = 1;
    top->s_axil_rready = 1;
    top->eval();
    while (!top->s_axil_arready) cycle();
    cycle();
    top->s_axil_arvalid = 0;
    top->eval();
    while (!top->s_axil_rvalid) cycle();
    const uint32_t data = top->s_axil_rdata;
    cycle();
    top->s_axil_rready = 0;
    return data;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc < 8) {
        std::fprintf(stderr, "usage: %s w_beats a_beats N M tokens passes repeats\n", argv[0]);
        return 2;
    }
    const auto arg = [&](int i) { return static_cast<uint32_t>(std::strtoul(argv[i], nullptr, 0)); };
    auto context = std::make_unique<VerilatedContext>();
    top = new Vceiling{context.get()};
    top->rst_ni = 0;
    for (int i = 0; i < 4; ++i) cycle();
    top->rst_ni = 1;
    cycle();
    uint32_t cycles = 0;
    uint64_t total = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (uint32_t r = 0; r < arg(7); ++r) {
        top->w_beats_i = arg(1);
        top->a_beats_i = arg(2);
        top->load_i = 1;
        cycle();
        top->load_i = 0;
        csr_write(0x08, arg(3));
        csr_write(0x0C, arg(4));
        csr_write(0x10, arg(5));
        csr_write(0x14, arg(6));
        csr_write(0x00, 1);
        while (!top->y_done_o) cycle();
        cycles = csr_read(0x18);
        total += cycles;
    }
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    top->dump_i = 1;  // y.hex: the last run's outputs, compared with golden by bench.ceiling
    cycle();
    top->dump_i = 0;
    std::printf("%u %llu %.4f %.0f\n", cycles, static_cast<unsigned long long>(total), secs,
                total / secs);
    top->final();
    delete top;
    return 0;
}
