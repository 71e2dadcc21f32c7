#!/bin/sh
# bench/run.sh [BUILD_DIR] [--quick] - runs every benchmark in bench/ and
# prints one table (`make bench` runs it on build/).
#
# A benchmark is a folder bench/<name>/ with a CMakeLists.txt. It is run
#   - as bench/<name>/run.sh BUILD_DIR when the folder has a run.sh
#     (scripts: pcap2npy, train), else
#   - as every program BUILD_DIR/bin/bench_<name> and
#     BUILD_DIR/bench/bench_<name>_* (nn, transport, data_fashion_mnist,
#     data_celeba).
# Each prints result rows "| figure | median | unit | runs | note |" (the
# median over `runs` repetitions it made) and anything else as notes; this
# script prefixes every row with the benchmark's name so they form one
# table, after a header naming the machine (CPU model, cores, OpenBLAS
# version and threads) and the command, and prints the notes and each
# program's command line below it.
#
# --quick: a smoke run (fewer repetitions, DCGAN at batch 16, 1 training
# iteration, 200,000 packets) - its figures are not comparable.
#
# Benchmarks give figures and never fail the build: this script exits 0;
# a benchmark that fails is reported in the notes with its exit status.
here=$(cd "$(dirname "$0")" && pwd)
build=${LPZ_BUILD_DIR:-$here/../build}
quick=
for a in "$@"; do
    case $a in
    --quick) quick=--quick ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) build=$a ;;
    esac
done
build=$(cd "$build" 2>/dev/null && pwd) || { echo "bench/run.sh: no build folder $build (run make first)"; exit 0; }
notes=$(mktemp)
rows=$(mktemp)
trap 'rm -f "$notes" "$rows"' EXIT

# ---- the machine -----------------------------------------------------------
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
cores=$(nproc 2>/dev/null || echo "?")
blas=
[ -x "$build/bin/bench_nn" ] && blas=$("$build/bin/bench_nn" --blas-info 2>/dev/null)
[ -n "$blas" ] || blas="OpenBLAS $(pkg-config --modversion openblas 2>/dev/null || echo '?')"
load=$(cut -d' ' -f1-3 /proc/loadavg)
torch=$(/usr/bin/python3 -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "not installed")

echo "lpz benchmarks, $(date '+%Y-%m-%d %H:%M')"
echo "machine: $cpu, $cores cores ($(uname -m), Linux $(uname -r)); load average before: $load"
echo "BLAS:    $blas; nn benchmarks set 1 thread, lpz train sets cores / running cells"
echo "PyTorch: $torch (/usr/bin/python3, 1 thread)"
echo "command: bench/run.sh $build${quick:+ $quick}   (make bench = bench/run.sh build)"
echo

# run NAME COMMAND...: rows go to $rows with the name in front, the rest to $notes
run() {
    name=$1
    shift
    echo "$name: $*" >>"$notes"
    t0=$(date +%s)
    out=$("$@" 2>&1)
    rc=$?
    t1=$(date +%s)
    printf '%s\n' "$out" | while IFS= read -r line; do
        case "$line" in
        "|"*) printf '| %s %s\n' "$name" "$line" >>"$rows" ;;
        "") ;;
        *) echo "  $line" >>"$notes" ;;
        esac
    done
    [ $rc -eq 0 ] || echo "  FAILED: exit status $rc" >>"$notes"
    echo "  ($((t1 - t0)) s)" >>"$notes"
}

for dir in "$here"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/CMakeLists.txt" ] || continue
    if [ -x "$dir/run.sh" ]; then
        case $name in
        train) run "$name" "$dir/run.sh" "$build" ${quick:+1} ;;
        pcap2npy) run "$name" "$dir/run.sh" "$build" ${quick:+200000 5000} ;;
        *) run "$name" "$dir/run.sh" "$build" ;;
        esac
        continue
    fi
    found=
    for prog in "$build/bin/bench_$name" "$build/bench/bench_$name"_*; do
        [ -x "$prog" ] || continue
        found=1
        case $name in
        transport) run "$name" "$prog" $quick ;;
        nn) run "$name" "$prog" $quick
            # the same steps with the products on AMX (general.matmul_precision:
            # high); bench_nn prints a line and no rows on a CPU without AMX
            run "$name" "$prog" $quick --precision high
            # where medium runs on AVX512-BF16 (no AMX: high runs as highest),
            # the steps at medium too
            if "$build/bin/lpz" --version 2>/dev/null | grep -q 'medium (AVX512-BF16'; then
                run "$name" "$prog" $quick --precision medium
            fi ;;
        data) case $prog in
            *celeba) run "$name" "$prog" ${quick:+300 100} ;;
            *) run "$name" "$prog" ${quick:+100} ;;
            esac ;;
        *) run "$name" "$prog" ;;
        esac
    done
    [ -n "$found" ] || echo "bench_$name: not built (cmake --build $build)" >>"$notes"
done

# ---- one table ---------------------------------------------------------------
# columns: bench | figure | median | unit | runs | note
awk -F'|' '
function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
{
    n++
    b[n] = trim($2); f[n] = trim($3); v[n] = trim($4); u[n] = trim($5); r[n] = trim($6); t[n] = trim($7)
    if (length(b[n]) > wb) wb = length(b[n]); if (length(f[n]) > wf) wf = length(f[n])
    if (length(v[n]) > wv) wv = length(v[n]); if (length(u[n]) > wu) wu = length(u[n])
}
END {
    if (wb < 5) wb = 5; if (wf < 6) wf = 6; if (wv < 6) wv = 6; if (wu < 4) wu = 4
    fmt = "| %-" wb "s | %-" wf "s | %" wv "s | %-" wu "s | %4s | %s\n"
    printf fmt, "bench", "figure", "median", "unit", "runs", "note"
    line = sprintf(fmt, "", "", "", "", "", ""); gsub(/ /, "-", line)
    printf "%s", line
    for (i = 1; i <= n; i++) printf fmt, b[i], f[i], v[i], u[i], r[i], t[i]
}' "$rows"
echo
echo "notes and commands:"
cat "$notes"
exit 0
