#!/usr/bin/env bash
# bench/pcap2npy/run.sh [BUILD_DIR] [PACKETS] [FLOWS]
# Generates a capture of PACKETS (default 1,000,000) Ethernet packets over
# FLOWS (default 20,000) concurrent TCP/UDP flows with libpcap (the
# generator is built by tests/pcap2npy), runs lpz-pcap2npy on it three
# times and prints result rows "| figure | median | unit | runs | note |"
# (bench/run.sh collects them): packets per second (reading + flow
# building; the tool's own measurement) and the wall time of a whole run.
# Not part of the tests; exits 0 when the programs are not built (a note
# says so), 1 only when the tool fails.
set -euo pipefail
build=${1:-build}
packets=${2:-1000000}
flows=${3:-20000}
gen=$build/tests/pcap2npy/gen_capture
tool=$build/bin/lpz-pcap2npy
if [ ! -x "$gen" ] || [ ! -x "$tool" ]; then
    echo "not built: cmake --build $build --target pcap2npy_gen_capture lpz_pcap2npy"
    exit 0
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/p2n-bench-XXXXXX")
trap 'rm -rf "$work"' EXIT
"$gen" bench "$work/bench.pcap" "$packets" "$flows" >/dev/null
size=$(du -m "$work/bench.pcap" | cut -f1)
rates=() walls=()
for i in 1 2 3; do
    start=$(date +%s%N)
    "$tool" --pcap "$work/bench.pcap" -o "$work/out.npy" 2>"$work/log"
    end=$(date +%s%N)
    rate=$(sed -n 's/.* \([0-9]*\) packets\/s$/\1/p' "$work/log")
    [ -n "$rate" ] || { echo "lpz-pcap2npy printed no packets/s line:"; cat "$work/log"; exit 1; }
    rates+=("$rate")
    walls+=("$(( (end - start) / 1000000 ))")
done
flows_line=$(grep -o '[0-9]* flows' "$work/log" | head -1)
rate=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
wall=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
echo "| read + flows | $rate | packets/s | 3 | $packets packets, $flows concurrent flows ($flows_line), ${size} MB capture |"
echo "| whole run | $wall | ms | 3 | read, flows, sequences, .npy write |"
