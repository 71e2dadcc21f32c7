#!/usr/bin/env bash
# tests/pcap2npy/capture_traffic.sh - tools/capture-traffic.sh:
# -h prints the header comment and nothing of the code after it; bad options
# and values are usage errors (exit 2); and, where tcpdump may capture on lo
# (root or CAP_NET_RAW), the file the start message names is the file
# tcpdump writes (tcpdump appends a zero-padded number with -C/-W).
set -euo pipefail
script=${LPZ_SOURCE_DIR:?}/tools/capture-traffic.sh
work=$(mktemp -d /tmp/lpz-capture-XXXXXX)
trap 'rm -rf "$work"' EXIT
fail() {
    echo "FAIL: $*"
    exit 1
}

help=$(bash "$script" -h) || fail "-h exit status $?"
first=$(head -n 1 <<<"$help")
last=$(tail -n 1 <<<"$help")
[[ $first == "tools/capture-traffic.sh - "* ]] || fail "-h first line: '$first'"
[[ $last == *"lpz-pcap2npy --pcap DIR/capture.pcap0 -o traffic.npy" ]] ||
    fail "-h last line is not the end of the help text: '$last'"
! grep -nE '^(set |usage\(\)|iface=|while |#)' <<<"$help" || fail "-h prints code or raw comment lines"
echo "ok: -h prints $(wc -l <<<"$help") lines of help, ending with the pcap2npy example"

rc=0
bash "$script" -Z >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "an unknown option: exit status $rc, expected 2"
rc=0
bash "$script" -W 0 >/dev/null 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] && grep -q 'not a positive integer' "$work/err" || fail "-W 0: exit status $rc: $(cat "$work/err")"
echo "ok: bad options are usage errors"

# captured FILES: the file named by the start message exists afterwards
captured() {
    local files=$1 d="$work/w$1" rc=0
    bash "$script" -i lo -o "$d" -W "$files" -d 1 2>"$work/err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        if grep -qiE 'permi|socket|no such device|not installed' "$work/err"; then
            echo "skipped: tcpdump cannot capture on lo here: $(head -n 3 "$work/err")"
            exit 0
        fi
        fail "-W $files: exit status $rc: $(cat "$work/err")"
    fi
    local named
    named=$(sed -n 's/^capture-traffic: writing \([^ ]*\) .*/\1/p' "$work/err")
    [ -n "$named" ] || fail "-W $files: no start message: $(cat "$work/err")"
    [ -f "$named" ] || fail "-W $files: the message names $named, the folder holds: $(ls "$d")"
    [ "$(ls "$d")" = "$(basename "$named")" ] || fail "-W $files: other files written: $(ls "$d")"
    echo "ok: -W $files writes $(basename "$named") as its message says"
}
if ! command -v tcpdump >/dev/null || ! command -v timeout >/dev/null; then
    echo "skipped: the capture part needs tcpdump"
    exit 0
fi
captured 10
captured 100
captured 1
