#!/usr/bin/env bash
# bench/pcap2npy/run.sh [BUILD_DIR] [PACKETS] [FLOWS]
# Generates a capture of PACKETS (default 1,000,000) Ethernet packets over
# FLOWS (default 20,000) concurrent TCP/UDP flows with libpcap, runs
# lpz-pcap2npy on it three times and prints the median packets per second
# (reading + flow building; the tool's own measurement) and wall time.
# Not part of the tests.
set -euo pipefail
build=${1:-build}
packets=${2:-1000000}
flows=${3:-20000}
gen=$build/tests/pcap2npy/gen_capture
tool=$build/bin/lpz-pcap2npy
[ -x "$gen" ] && [ -x "$tool" ] || { echo "build first: cmake --build $build --target pcap2npy_gen_capture lpz_pcap2npy"; exit 1; }
work=$(mktemp -d /tmp/p2n-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
"$gen" bench "$work/bench.pcap" "$packets" "$flows"
echo "capture: $packets packets, $flows concurrent flows, $(du -h "$work/bench.pcap" | cut -f1)"
rates=()
for i in 1 2 3; do
    start=$(date +%s.%N)
    "$tool" --pcap "$work/bench.pcap" -o "$work/out.npy" 2> "$work/log"
    end=$(date +%s.%N)
    rate=$(sed -n 's/.* \([0-9]*\) packets\/s$/\1/p' "$work/log")
    rates+=("$rate")
    printf 'run %d: %s packets/s (wall %.2f s)\n' "$i" "$rate" "$(echo "$end - $start" | bc)"
done
grep -E "flows|sequences" "$work/log"
median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
echo "median: $median packets/s"
