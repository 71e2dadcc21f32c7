#!/usr/bin/env bash
# tests/pcap2npy/out_paths.sh GEN_CAPTURE LPZ_PCAP2NPY
# An output (-o, its OUT.npy.json sidecar, --csv, or the default output)
# that is the same file as the input or as another output is refused as bad
# usage (exit 2) before anything is read or written: afterwards every file
# in the folder is byte for byte what it was and no file was added. Same
# file means any spelling (./x, sub/../x, absolute), hard or symbolic links
# of existing files, and names of files that do not exist yet. Distinct
# paths still work, including outputs that already exist. An output whose
# folder does not exist (or is a file, or cannot be written) fails at once
# (exit 1) naming the option, before the input is read, creating nothing.
set -euo pipefail
gen=$(realpath -- "$1") # the test runs in its own folder
tool=$(realpath -- "$2")

work=$(mktemp -d /tmp/p2n-paths-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/d" "$work/d/sub" "$work/log"
cd "$work/d"
err="$work/log/err"
fail() {
    echo "FAIL: $*"
    exit 1
}

"$gen" mixed cap.pcap
printf 'StartTime,Dur,TotPkts,TotBytes\n' > flows.csv
for i in 1 2 3 4 5 6; do
    printf '1700000000.%d,0.5,%d,%d00\n' "$i" "$i" "$i" >> flows.csv
done
cp cap.pcap cap2.npy
cp flows.csv flows2.npy
cp flows.csv side.npy.json
ln cap.pcap hard.npy
ln -s cap.pcap soft.npy

# Every entry with its type and, for files, its checksum.
snapshot() {
    find . -printf '%y %p %l\n' | LC_ALL=C sort
    find . -type f -exec cksum {} + | LC_ALL=C sort
}

# runs NAME STATUS "TEXT the message must hold"... -- ARGS...: the tool exits STATUS saying every TEXT, and no file
# changes or appears
runs() {
    local name=$1 status=$2 want=() rc=0
    shift 2
    while [ "$1" != "--" ]; do
        want+=("$1")
        shift
    done
    shift
    local before
    before=$(snapshot)
    "$tool" -q "$@" < /dev/null 2> "$err" || rc=$?
    [ "$rc" -eq "$status" ] || fail "$name: exit status $rc, expected $status; stderr: $(cat "$err")"
    for w in "${want[@]}"; do
        grep -qF -- "$w" "$err" || fail "$name: the message does not say '$w': $(cat "$err")"
    done
    [ "$(snapshot)" = "$before" ] || fail "$name: files changed or were added by a run that failed"
}

# refused NAME "TEXT the message must hold"... -- ARGS...: a usage error (exit status 2)
refused() {
    local name=$1
    shift
    runs "$name" 2 "$@"
    grep -qF -- "(see lpz-pcap2npy --help)" "$err" || fail "$name: not a usage error: $(cat "$err")"
    echo "ok: $name refused: $(cat "$err")"
}

# The five cases first found, then the same with --from-argus input.
refused out_is_input '-o "cap.pcap"' '--pcap "cap.pcap"' -- --pcap cap.pcap -o cap.pcap
refused default_out_is_input '--pcap "cap2.npy"' 'give -o' -- --pcap cap2.npy
refused csv_is_input '--csv "cap.pcap"' '--pcap "cap.pcap"' -- --pcap cap.pcap -o o3.npy --csv cap.pcap
refused csv_is_out '--csv "o4.npy"' '-o "o4.npy"' -- --pcap cap.pcap -o o4.npy --csv o4.npy
refused csv_is_sidecar '--csv "o5.npy.json"' 'sidecar' '"o5.npy.json"' -- --pcap cap.pcap -o o5.npy \
    --csv o5.npy.json
# (--sequence-length 2: enough records, so that without the check the run
# would go on to write)
refused argus_out_is_input '--from-argus "flows.csv"' -- --sequence-length 2 --from-argus flows.csv -o flows.csv
refused argus_default_out_is_input '--from-argus "flows2.npy"' 'give -o' -- --sequence-length 2 \
    --from-argus flows2.npy
refused argus_csv_is_input '--csv "flows.csv"' -- --sequence-length 2 --from-argus flows.csv -o o6.npy \
    --csv flows.csv
refused argus_sidecar_is_input 'sidecar' '--from-argus "side.npy.json"' -- --sequence-length 2 \
    --from-argus side.npy.json -o side.npy

# Other spellings of the same file.
refused dot_slash '-o "./cap.pcap"' -- --pcap cap.pcap -o ./cap.pcap
refused dot_dot '-o "sub/../cap.pcap"' -- --pcap cap.pcap -o sub/../cap.pcap
refused absolute "-o \"$work/d/cap.pcap\"" -- --pcap cap.pcap -o "$work/d/cap.pcap"
refused input_spelled_otherwise '--pcap "sub/../cap.pcap"' -- --pcap sub/../cap.pcap -o ./cap.pcap
refused hard_link '-o "hard.npy"' -- --pcap cap.pcap -o hard.npy
refused symlink '-o "soft.npy"' -- --pcap cap.pcap -o soft.npy
refused new_files_dot_slash '--csv "./o7.npy"' -- --pcap cap.pcap -o o7.npy --csv ./o7.npy
refused new_files_dot_dot '--csv "sub/../o8.npy.json"' -- --pcap cap.pcap -o o8.npy --csv sub/../o8.npy.json
refused new_files_absolute '--csv "o9.csv"' -- --pcap cap.pcap -o "$work/d/sub/../o9.csv" --csv o9.csv
# An output path holding something else than a regular file is refused: the temporary file renamed over it
# replaced a FIFO (or, as root, a device such as /dev/null) with a regular file.
mkfifo fifo.npy
refused out_is_fifo '-o "fifo.npy" is a FIFO: an output must be a regular file or a new path' \
    -- --pcap cap.pcap -o fifo.npy
refused csv_is_folder '--csv "sub" is a folder' -- --pcap cap.pcap -o o10.npy --csv sub
mkfifo fifo2.npy.json
refused sidecar_is_fifo 'the sidecar "fifo2.npy.json" of -o is a FIFO' -- --pcap cap.pcap -o fifo2.npy
# Only one input is read: a second --pcap is refused, not silently dropped.
refused repeated_input 'exactly one input' -- --pcap cap.pcap --pcap cap2.npy -o cap.pcap

# Distinct paths work, also when the outputs exist already (the second run).
before=$(cksum < cap.pcap)
for run in 1 2; do
    "$tool" -q --pcap cap.pcap -o out.npy --csv out.csv --sequence-length 5 || fail "distinct paths, run $run"
done
[ "$(cksum < cap.pcap)" = "$before" ] || fail "distinct paths: the input changed"
[ "$(head -c 6 out.npy | od -An -c | tr -d ' ')" = '223NUMPY' ] || fail "distinct paths: out.npy is no .npy"
grep -q '"shape"' out.npy.json || fail "distinct paths: no sidecar"
head -n 1 out.csv | grep -q '^stime,' || fail "distinct paths: no CSV"
"$tool" -q --pcap cap.pcap --sequence-length 5 || fail "default output"
[ -s cap.npy ] && [ -s cap.npy.json ] || fail "default output: cap.npy or its sidecar missing"
cp cap.pcap .hidden # a name's leading dot starts no extension: .hidden.npy, not .npy
"$tool" -q --pcap .hidden --sequence-length 5 || fail "default output of .hidden"
[ -s .hidden.npy ] && [ -s .hidden.npy.json ] && [ ! -e .npy ] || fail "default output of .hidden: not .hidden.npy"
cp cap.pcap sub/.cap
"$tool" -q --pcap sub/.cap --sequence-length 5 || fail "default output of sub/.cap"
[ -s sub/.cap.npy ] && [ ! -e sub/.npy ] || fail "default output of sub/.cap: not sub/.cap.npy"
"$tool" -q --pcap - -o stdin.npy --sequence-length 5 < cap.pcap || fail "stdin input"
"$tool" -q --from-argus flows.csv -o argus.npy --csv argus.csv --sequence-length 2 || fail "argus input"
[ "$(cksum < cap.pcap)" = "$before" ] || fail "the input changed"
echo "ok: distinct paths, existing outputs, the default output, stdin and argus input work"

# An output in a folder that does not exist, or under a file, fails at once (exit status 1) naming the option, before
# the capture is read (stdin gives no capture at all here: reading it first said "cannot read the capture") and
# without creating anything.
# failed_early NAME "TEXT the message must hold"... -- ARGS...
failed_early() {
    local name=$1
    shift
    runs "$name" 1 "$@"
    ! grep -q 'capture' "$err" || fail "$name: the capture was read first: $(cat "$err")"
    echo "ok: $name failed early: $(cat "$err")"
}
failed_early out_folder_missing '-o "nodir/x.npy": the folder "nodir" does not exist' 'give -o a path' \
    -- --pcap - -o nodir/x.npy
failed_early out_folder_missing_absolute "-o \"$work/nodir/x.npy\": the folder \"$work/nodir\" does not exist" \
    -- --pcap - -o "$work/nodir/x.npy"
failed_early csv_folder_missing '--csv "nodir/x.csv": the folder "nodir" does not exist' 'give --csv a path' \
    -- --pcap - -o fine.npy --csv nodir/x.csv
failed_early out_under_a_file '-o "cap.pcap/x.npy": "cap.pcap" is a regular file, not a folder' \
    -- --pcap - -o cap.pcap/x.npy
failed_early csv_under_a_file "the folder \"cap.pcap/sub\" cannot exist: a part of its path is not a folder" \
    -- --pcap - -o fine.npy --csv cap.pcap/sub/x.csv
failed_early argus_out_folder_missing '-o "nodir/x.npy": the folder "nodir" does not exist' \
    -- --sequence-length 2 --from-argus flows.csv -o nodir/x.npy
if [ "$(id -u)" -ne 0 ]; then # root may write anywhere
    mkdir "$work/ro"
    chmod 555 "$work/ro"
    failed_early out_folder_read_only "-o \"$work/ro/x.npy\": cannot write in the folder \"$work/ro\"" \
        -- --pcap - -o "$work/ro/x.npy"
    chmod 755 "$work/ro"
else
    echo "skip: a folder that is not writable (running as root)"
fi
