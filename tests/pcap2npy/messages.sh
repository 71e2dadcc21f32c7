#!/usr/bin/env bash
# tests/pcap2npy/messages.sh GEN_CAPTURE LPZ_PCAP2NPY
# What lpz-pcap2npy tells a user who made a mistake, and what -v adds:
# a capture that gives no flow record says why (no packets, a filter that
# matched nothing, only non-IP frames) instead of "sequence length 30 is
# larger than the 0 flow records"; a capture or argus data file given to
# --from-argus is "not a text file" (it said "no StartTime column") and a
# CSV given to --pcap points to --from-argus; an argus CSV without a column
# a chosen field needs warns that the field is 0 in every record; -v gives
# the flow settings and the records per protocol Also: pcap-only options
# refused with --from-argus (--status-interval was accepted silently), an
# empty file called empty, a corrupt first packet counted from 1, a field
# named twice, counts of 1 in the singular, a misspelt option with a
# suggestion, the snapshot length named when packets are captured too
# short, and null in the sidecar for settings that do not apply. Also: a
# multi-link-type pcapng, IPv4 in a LINKTYPE_IPV6 file, implausible original
# lengths, timestamps going back, a --filter that does not compile (exit 2),
# and argus non-IP records, time-of-day times and -1 counts.
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
expect only_arp 1 'the only packet makes no flow record: 1 non-IP' -- --pcap arp.pcap -o o.npy
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

# --- pcap-only options with --from-argus; hints that fit the input
for opt in "--status-interval 5" "--filter tcp" "--idle-timeout 5" "--max-flows 10" "--allow-truncated"; do
    # shellcheck disable=SC2086 # the option and its value are two words
    expect "argus_refuses_${opt%% *}" 2 \
        '--filter, --idle-timeout, --status-interval, --max-flows and --allow-truncated apply to --pcap only' \
        -- --from-argus nodur.csv -o o.npy --sequence-length 2 $opt
done
expect argus_too_few_records 1 'larger than the 4 flow records available' '--sequence-length' \
    -- --from-argus nodur.csv -o o.npy
! grep -qF -- '--status-interval' err || fail "argus_too_few_records suggests --status-interval: $(cat err)"
expect pcap_too_few_records 1 'larger than the 48 flow records available' 'a shorter --status-interval' \
    -- --pcap cap.pcap -o o.npy --sequence-length 1000

# --- the sidecar: null for settings argus decided, numbers for a capture
"$tool" -q --from-argus nodur.csv -o argus.npy --sequence-length 2
grep -qF '"idle_timeout_s": {"tcp": null, "icmp": null, "other": null},' argus.npy.json &&
    grep -qF '"status_interval_s": null,' argus.npy.json || fail "argus sidecar: $(cat argus.npy.json)"
"$tool" -q --pcap cap.pcap -o pcap.npy --status-interval 5
grep -qF '"idle_timeout_s": {"tcp": 60, "icmp": 5, "other": 30},' pcap.npy.json &&
    grep -qF '"status_interval_s": 5,' pcap.npy.json || fail "pcap sidecar: $(cat pcap.npy.json)"
echo "ok: sidecar settings null for argus input, numbers for a capture"

# --- an empty file; a corrupt first packet
: > zero.pcap
expect empty_file 1 'zero.pcap: the file is empty (0 bytes), not a capture' -- --pcap zero.pcap -o o.npy
! grep -qF 'truncated dump file' err || fail "empty_file: $(cat err)"
# the file header, then a record header announcing 74 bytes of which 20 are there
{
    cat empty.pcap
    printf '\000\361\123\145\000\000\000\000\112\000\000\000\112\000\000\000'
    head -c 20 /dev/zero
} > cutfirst.pcap
expect corrupt_first_packet 1 'cutfirst.pcap: corrupt capture at packet 1 (the first): truncated' \
    'holds no complete packet' -- --pcap cutfirst.pcap -o o.npy
head -c 2000 cap.pcap > cut13.pcap
expect corrupt_later_packet 1 'corrupt capture at packet 13: truncated' '--allow-truncated uses the 12 packets' \
    -- --pcap cut13.pcap -o o.npy

# --- --fields naming a field twice
expect field_twice 2 'field "gap" named twice in --fields' -- --pcap cap.pcap -o o.npy --fields gap,dur,gap

# --- counts of 1: "1 sequence", "1 record"
expect singular 0 '4 records read' '1 sequence of 3 x 4 written' '1 record left over' \
    -- --from-argus nodur.csv -o o.npy --sequence-length 3
! grep -qE '(^|[^0-9])1 (sequences|records|packets|flows)' err || fail "singular: a plural after 1: $(cat err)"
printf 'StartTime,Dur,TotPkts,TotBytes\n1700000000.5,0.5,3,300\n' > one.csv
expect one_record 1 '1 record read' 'larger than the 1 flow record available' -- --from-argus one.csv -o o.npy

# --- misspelt, ambiguous and value-taking-nothing long options; an unknown short option
expect misspelt_option 2 'unknown option --status-intervl: did you mean --status-interval?' \
    -- --pcap cap.pcap -o o.npy --status-intervl 5
expect misspelt_option_value 2 'unknown option --sequence-lenght: did you mean --sequence-length?' \
    -- --pcap cap.pcap -o o.npy --sequence-lenght=5
expect far_off_option 2 'unknown option --colour' -- --pcap cap.pcap -o o.npy --colour
! grep -q 'did you mean' err || fail "far_off_option suggests something: $(cat err)"
expect ambiguous_option 2 'option --s is ambiguous: it could be --sequence-length, --status-interval' \
    -- --pcap cap.pcap -o o.npy --s 5
expect option_takes_no_value 2 'option --quiet takes no value, got "--quiet=1"' -- --pcap cap.pcap -o o.npy --quiet=1
expect unknown_short_option 2 'unknown option -x' -- --pcap cap.pcap -o o.npy -qx

# --- every packet captured too short (tcpdump -s 30): name the snapshot length
# a pcap file header with snapshot length 30, then two TCP/IPv4 frames of 74 bytes cut to 30
{
    printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\036\000\000\000\001\000\000\000'
    for i in 1 2; do
        printf '\000\361\123\145\000\000\000\000\036\000\000\000\112\000\000\000'
        printf '\002\000\000\000\000\002\002\000\000\000\000\001\010\000'
        printf '\105\000\000\074\000\001\100\000\100\006\000\000\012\000\000\001'
    done
} > snap30.pcap
expect snapshot_too_short 1 'none of the 2 packets makes a flow record: 0 non-IP, 2 truncated' \
    "the capture's snapshot length is 30 bytes" 'tcpdump -s 128 or more' -- --pcap snap30.pcap -o o.npy

# --- files that need a clear message (gen_capture oddities)
"$gen" oddities .
expect multi_link_type_pcapng 1 'multilink.pcapng: multi-link-type capture' 'libpcap reads one link type per file' \
    "tshark -r FILE -Y 'frame.interface_id == N'" -- --pcap multilink.pcapng -o o.npy
grep -q 'corrupt capture' err && fail "multi_link_type_pcapng still says corrupt: $(cat err)"
expect ipv4_in_ipv6_link_type 1 '2 malformed IP' 'carry an IP version other than link type IPV6 announces' \
    -- --pcap v4in6.pcap -o o.npy
grep -q 'snapshot length' err && fail "ipv4_in_ipv6_link_type blames the snapshot length: $(cat err)"
expect implausible_original_length 0 'warning: 2 packets had an implausible original length' \
    -- --pcap origlen.pcap -o o.npy --sequence-length 1
expect timestamps_backwards 0 'note: 1 packet stamped earlier than the one before (at most 4.000000 s back' \
    -- --pcap backwards.pcap -o o.npy --sequence-length 1
expect bad_filter_is_usage 2 'bad --filter "bogus expr"' -- --pcap cap.pcap --filter 'bogus expr' -o o.npy

# --- argus CSV: non-IP records and unknown names said apart, time of day and -1 counts warned
cat > nonip.csv <<'CSV'
StartTime,Proto,SrcAddr,Sport,DstAddr,Dport,TotPkts,TotBytes
1700000000.5,udp,10.0.0.1,1,10.0.0.2,2,1,60
1700000001.0,34984,02:02:02:02:02:02,0,04:04:04:04:04:04,0,80,5600
1700000002.0,xyz,10.0.0.1,0,10.0.0.2,0,1,60
1700000003.0,icmp,10.0.0.1,0x0303,10.0.0.2,0x0000,1,70
CSV
expect argus_non_ip_records 0 '3 records read; 0 argus management records skipped' \
    '1 non-IP record skipped (ARP, or an ethertype as Proto, e.g. "34984"' \
    '1 record with an IP protocol name not known (e.g. "xyz"): proto 255' \
    "1 ICMP record: argus' Sport \"0xCCTT\" read as type TT and code CC" \
    -- --from-argus nonip.csv -o o.npy --sequence-length 1
printf 'StartTime,Proto,TotPkts,TotBytes\n23:59:59.5,udp,1,18446744073709551615\n' > tod.csv
expect argus_time_of_day_and_minus_one 0 '1 StartTime value without a date' 'ra -u' \
    'tod.csv:2: 1 count of 2^48 or more (e.g. 18446744073709551615' -- --from-argus tod.csv -o o.npy --sequence-length 1
