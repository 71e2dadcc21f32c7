#!/usr/bin/env bash
# tests/pcap2npy/messages.sh GEN_CAPTURE LPZ_PCAP2NPY
# What lpz-pcap2npy tells a user who made a mistake, and what -v adds:
# a capture that gives no flow record says why (no packets, a filter that
# matched nothing, only non-IP frames) instead of "sequence length 30 is
# larger than the 0 flow records"; a capture or argus data file given to
# --from-argus is "not a text file" (it said "no StartTime column") and a
# CSV given to --pcap points to --from-argus; an argus CSV without a column
# a chosen field needs warns that the field is 0 in every record; -v gives
# the flow settings and the records per protocol.
set -euo pipefail
gen=$(realpath -- "$1") # the test runs in its own folder
tool=$(realpath -- "$2")
work=$(mktemp -d /tmp/p2n-msg-XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() {
    echo "FAIL: $*"
    exit 1
}

# expect NAME STATUS "TEXT"... -- ARGS: the exit status and the stderr texts
expect() {
    local name=$1 want_rc=$2 want=() rc=0
    shift 2
    while [ "$1" != "--" ]; do
        want+=("$1")
        shift
    done
    shift
    "$tool" "$@" 2> err || rc=$?
    [ "$rc" -eq "$want_rc" ] || fail "$name: exit status $rc, expected $want_rc: $(cat err)"
    for w in "${want[@]}"; do
        grep -qF -- "$w" err || fail "$name: stderr does not say '$w': $(cat err)"
    done
    echo "ok: $name"
}

"$gen" mixed cap.pcap
# a pcap file header (little-endian, Ethernet) and nothing else
printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\200\000\000\000\001\000\000\000' > empty.pcap
# the same header, then one ARP frame of 42 bytes
{
    cat empty.pcap
    printf '\000\000\000\000\000\000\000\000\052\000\000\000\052\000\000\000'
    printf '\377\377\377\377\377\377\002\000\000\000\000\001\010\006'
    head -c 28 /dev/zero
} > arp.pcap

expect no_packets 1 'empty.pcap: the capture holds no packets' -- --pcap empty.pcap -o o.npy
expect filter_matched_nothing 1 '--filter "udp port 9" matched none of the 331 packets' "vlan and" \
    -- --pcap cap.pcap --filter 'udp port 9' -o o.npy
expect only_arp 1 'none of the 1 packets makes a flow record: 1 non-IP' -- --pcap arp.pcap -o o.npy
[ ! -e o.npy ] || fail "a failed run wrote o.npy"

expect pcap_to_from_argus 1 'cap.pcap:1: not a text file' '--pcap' -- --from-argus cap.pcap -o o.npy
printf 'StartTime,Dur,TotPkts,TotBytes\n1.0,0.5,3,300\n' > flows.csv
expect csv_to_pcap 1 'unknown file format' '--from-argus' -- --pcap flows.csv -o o.npy

# ra -c , without -s: no Dur
printf 'StartTime,Proto,SrcAddr,Sport,DstAddr,Dport,TotPkts,TotBytes\n' > nodur.csv
for i in 1 2 3 4; do
    printf '170000000%d.5,tcp,10.0.0.1,%d,10.0.0.2,80,3,300\n' "$i" "$((40000 + i))" >> nodur.csv
done
expect no_dur_warns 0 'warning: nodur.csv has no Dur or LastTime column: field dur is 0 in every record' \
    -- --from-argus nodur.csv -o o.npy --sequence-length 2
expect no_dur_dpkts_warn 0 'no DstPkts, or TotPkts and SrcPkts column: field dpkts is 0' \
    -- --from-argus nodur.csv -o o.npy --sequence-length 2 --fields gap,dpkts
"$tool" -q --from-argus nodur.csv -o o.npy --sequence-length 2 2> err
[ ! -s err ] || fail "-q printed: $(cat err)"
"$tool" --from-argus nodur.csv -o o.npy --sequence-length 2 --fields gap,pkts,bytes,proto,sport,dport 2> err
! grep -q warning err || fail "a warning for fields the CSV has: $(cat err)"
echo "ok: -q and fields the CSV has: no warning"

# Times are whole nanoseconds: a positive value below 1 ns became 0, "off", the opposite of what was asked.
expect tiny_idle_timeout 2 '--idle-timeout wants 0 (off) or seconds between 1e-9 and 1e9, got "1e-10"' \
    -- --pcap cap.pcap -o o.npy --idle-timeout 1e-10
expect tiny_status_interval 2 '--status-interval wants 0 (off) or seconds between 1e-9 and 1e9, got "4e-10"' \
    -- --pcap cap.pcap -o o.npy --status-interval 4e-10
expect verbose_pcap 0 'flow settings: idle timeout TCP 60 s, ICMP 5 s, other 30 s (0 = never); status interval 60 s' \
    'records by protocol: 26 TCP, 21 UDP, 1 ICMP, 0 ICMPv6, 0 other; 12 IPv6' -- --pcap cap.pcap -o o.npy -v
expect verbose_argus 0 'flows built by argus' 'records by protocol: 4 TCP, 0 UDP' \
    -- --from-argus nodur.csv -o o.npy --sequence-length 2 -v
