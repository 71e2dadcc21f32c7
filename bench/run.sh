#!/bin/sh
# bench/run.sh [BUILD_DIR] [-- ARGS...] - runs every benchmark program and
# prints one table.
#
# A benchmark is a folder bench/<name>/ whose CMakeLists.txt builds
# bench_<name> (into BUILD_DIR/bin). Each program prints its result rows as
# "| ... |" lines and anything else as notes; this script prefixes every row
# with the benchmark's name so all rows form one table, then prints the
# notes. ARGS after -- go to every program. Missing programs are reported,
# never fatal: benchmarks only give figures.
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-${LPZ_BUILD_DIR:-$here/../build}}
[ $# -gt 0 ] && shift
[ "$1" = "--" ] && shift
notes=$(mktemp)
trap 'rm -f "$notes"' EXIT
printf '| %-8s ' bench
printf '| results\n'
for dir in "$here"/*/; do
    name=$(basename "$dir")
    [ -f "$dir/CMakeLists.txt" ] || continue
    prog="$build/bin/bench_$name"
    if [ ! -x "$prog" ]; then
        echo "bench_$name: not built ($prog)" >>"$notes"
        continue
    fi
    "$prog" "$@" 2>&1 | while IFS= read -r line; do
        case "$line" in
        "|"*) printf '| %-8s %s\n' "$name" "$line" ;;
        *) echo "bench_$name: $line" >>"$notes" ;;
        esac
    done
done
echo
cat "$notes"
