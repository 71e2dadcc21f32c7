#!/usr/bin/env bash
# tools/capture-traffic.sh - record network traffic for lpz-pcap2npy with
# tcpdump, rotating the output files so a long capture never fills the disk.
#
#   tools/capture-traffic.sh [-i IFACE] [-o DIR] [-C MB] [-W FILES] [-G SECONDS]
#                            [-s SNAPLEN] [-d SECONDS] [-- FILTER...]
#
#   -i IFACE    interface (default: any; "lo" for local traffic)
#   -o DIR      output folder (default ./captures)
#   -C MB       start a new file every MB megabytes (default 100)
#   -W FILES    keep at most FILES files, overwriting the oldest (default 10)
#   -G SECONDS  start a new file every SECONDS instead of by size
#   -s SNAPLEN  bytes kept per packet (default 128: headers only; flow
#               records need no payload, and packet lengths are kept whole)
#   -d SECONDS  stop after SECONDS (default: run until Ctrl-C)
#   FILTER      tcpdump filter expression, e.g. "not port 22"
#
# Needs root or CAP_NET_RAW (sudo). Each file is a complete pcap that
# lpz-pcap2npy reads:  lpz-pcap2npy --pcap DIR/capture.pcap0 -o traffic.npy
set -euo pipefail

iface=any dir=./captures size=100 files=10 secs= snaplen=128 duration=
# -h prints the header comment: every line after the #! up to the first
# line that is not a comment.
usage() { awk 'NR == 1 { next } !/^#/ { exit } { sub(/^# ?/, ""); print }' "$0"; exit "${1:-0}"; }
while getopts "i:o:C:W:G:s:d:h" opt; do
    case $opt in
    i) iface=$OPTARG ;;
    o) dir=$OPTARG ;;
    C) size=$OPTARG ;;
    W) files=$OPTARG ;;
    G) secs=$OPTARG ;;
    s) snaplen=$OPTARG ;;
    d) duration=$OPTARG ;;
    h) usage 0 ;;
    *) usage 2 ;;
    esac
done
shift $((OPTIND - 1))
for n in "$size" "$files" "$snaplen" ${secs:+"$secs"} ${duration:+"$duration"}; do
    [[ $n =~ ^[0-9]+$ && $n -gt 0 ]] || { echo "capture-traffic: error: \"$n\" is not a positive integer" >&2; exit 2; }
done
command -v tcpdump >/dev/null || { echo "capture-traffic: error: tcpdump not installed (apt-get install tcpdump)" >&2; exit 1; }
mkdir -p "$dir"

# tcpdump drops privileges after opening the interface: let it keep those
# of the caller so it can write into DIR.
args=(-i "$iface" -s "$snaplen" -n -U -Z "$(id -un)")
if [ -n "$secs" ]; then
    # time-based rotation: one file per interval, named by its start time
    out="$dir/capture-%Y%m%d-%H%M%S.pcap"
    args+=(-G "$secs")
    [ -n "$duration" ] && args+=(-W $(( (duration + secs - 1) / secs )))
    what="$dir/capture-YYYYmmdd-HHMMSS.pcap (a new file every $secs s, named by its start time)"
else
    # size-based ring of FILES files. tcpdump appends the file number to
    # the -w name, zero-padded to the digits of FILES-1: capture.pcap0 ...
    # capture.pcap9 for -W 10, capture.pcap00 ... for -W 100; with -W 1 the
    # one file is capture.pcap itself.
    out="$dir/capture.pcap"
    args+=(-C "$size" -W "$files")
    last=$((files - 1))
    if [ "$files" -eq 1 ]; then
        what="$out (restarted every $size MB)"
    else
        printf -v first '%s%0*d' "$out" "${#last}" 0
        printf -v final 'capture.pcap%0*d' "${#last}" "$last"
        what="$first (a new file every $size MB, up to $final, then the oldest is overwritten)"
    fi
fi
echo "capture-traffic: writing $what on $iface (snaplen $snaplen)${duration:+ for $duration s}; Ctrl-C stops" >&2
if [ -n "$duration" ]; then
    timeout --signal=INT "$duration" tcpdump "${args[@]}" -w "$out" "$@" || [ $? -eq 124 ]
else
    tcpdump "${args[@]}" -w "$out" "$@"
fi
