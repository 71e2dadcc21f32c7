#!/usr/bin/env bash
# bench/train/run.sh [BUILD_DIR] [ITERATIONS]
# Times `lpz train` on the quick start (configuration/quickstart/
# fashion-mnist-2x2.yml: MLP GAN, 100 batches of 100 per iteration,
# fitness on 1,000 samples before and after training, FID of the mixture
# on score_sample_size samples when the trainer scores) on a 1x1 grid
# (--grid 1; tournament_size 1, since one cell has one individual of each
# kind) and on the 2x2 grid, ITERATIONS (default 4) iterations each, with
# /usr/bin/time -v for the peak resident memory. Where the CPU has
# AMX-BF16, both again with general.matmul_precision: high ("1x1 high",
# "2x2 high": the products on the tile unit in two bf16 limbs); where it
# has AVX512-BF16 but no AMX, with medium ("1x1 medium", "2x2 medium": one
# bf16 limb on VDPBF16PS; high would run as fp32 there).
# Prints result rows "| figure | median | unit | runs | note |" (bench/
# run.sh collects them):
#   seconds per iteration: the median of the per-cell, per-iteration times
#     of timing.csv (an iteration from fetching the neighbours to
#     publishing; dataset loading and start-up are not in it; with more
#     cells than cores a cell's time includes waiting for a core, so it is
#     the grid's iteration time);
#   wall time of the whole run and peak RSS (Maximum resident set size).
# Exits 0 when lpz or the dataset is missing (a note says so), 1 only when
# lpz train fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
iters=${2:-4}
lpz=$build/bin/lpz
config=$root/configuration/quickstart/fashion-mnist-2x2.yml
if [ ! -x "$lpz" ]; then
    echo "not built: $lpz"
    exit 0
fi
if [ ! -e /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] && \
   [ ! -e /usr/share/datasets/fashion-mnist ]; then
    echo "skipped: Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)"
    exit 0
fi
if [ ! -x /usr/bin/time ]; then
    echo "skipped: /usr/bin/time missing (apt-get install time)"
    exit 0
fi
# Runs go under BUILD_DIR/bench-train; its cache/ (the FID feature
# classifier, trained once per output folder, and the real-data
# statistics) is kept between runs of the benchmark, the run folders are
# not.
work=$build/bench-train
mkdir -p "$work" || exit 0
trap 'rm -rf "$work"/1x1 "$work"/2x2 "$work"/1x1-* "$work"/2x2-*' EXIT # the run folders, not cache/
classifier_cached=$(ls "$work"/cache/classifier-*.safetensors 2>/dev/null | head -1)

# median of the numbers on stdin
median() { sort -g | awk '{v[NR] = $1} END {if (NR == 0) print "nan"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

# run NAME GRID EXTRA-ARGS...
run() {
    local name=$1 grid=$2
    shift 2
    local out=$work/${name// /-}
    rm -rf "$out"
    mkdir -p "$out" "$work/cache"
    ln -s ../cache "$out/cache" # output_dir/cache is shared, the run folder is not
    local cmd=("$lpz" train -q -f "$config" --grid "$grid" --set "trainer.n_iterations=$iters"
        --set "general.output_dir=$out" "$@")
    echo "$name: ${cmd[*]}"
    if ! /usr/bin/time -v -o "$out/time.txt" "${cmd[@]}" >"$out/stdout" 2>"$out/stderr"; then
        echo "$name: lpz train failed:"
        tail -5 "$out/stderr"
        return 1
    fi
    local timing
    timing=$(find "$out"/ -name timing.csv | head -1)
    [ -n "$timing" ] || { echo "$name: no timing.csv under $out"; return 1; }

    local per_iter cells_x_iters wall rss
    per_iter=$(tail -n +2 "$timing" | cut -d, -f3 | median)
    cells_x_iters=$(tail -n +2 "$timing" | wc -l)
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/time.txt" |
        awk -F: '{s = 0; for (i = 1; i <= NF; i++) s = s * 60 + $i; print s}')
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time.txt")
    # CPU seconds of the whole run, start-up included (user + sys): what
    # a machine shared with other work inflates least.
    local cpu
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$out/time.txt")
    local score
    score=$(tail -n +2 "$(dirname "$timing")/metrics.csv" | cut -d, -f9 | grep -c . || true)
    local scored="FID scored in $score of $cells_x_iters cell iterations"
    local note1 note3
    case $name in
    1x1*) note1=$(target "$per_iter" 0.5 "s");;
    2x2*) note1=$(target "$per_iter" 1.5 "s");;
    esac
    [ "${name%% *}" = 2x2 ] && note3="; $(target "$(awk -v k="$rss" 'BEGIN {printf "%.1f", k / 1024}')" 200 "MB")"
    echo "| quick start $name iteration | $per_iter | s | $cells_x_iters | $note1; $scored |"
    local startup
    startup=$(tail -n +2 "$timing" | awk -F, -v w="$wall" -v c="$grid" '{s += $3} END {printf "%.1f", w - s / (c * c)}')
    local why="dataset, FID statistics"
    [ "$name" = 1x1 ] && [ -z "$classifier_cached" ] && why="dataset, training the FID classifier once (cached in $work/cache), FID statistics"
    echo "| quick start $name whole run | $wall | s | 1 | $iters iterations; start-up and end $startup s ($why); CPU (user + sys) $cpu s |"
    printf '| quick start %s peak RSS | %.1f | MB | 1 | /usr/bin/time -v%s |\n' "$name" "$(awk -v k="$rss" 'BEGIN {print k / 1024}')" "${note3:-}"
}

# target VALUE LIMIT UNIT: "target < LIMIT UNIT: met by N%" / "missed by N%"
target() {
    awk -v v="$1" -v g="$2" -v u="$3" 'BEGIN {
        if (v + 0 != v) { print "no figure"; exit }
        m = (v / g - 1) * 100; if (m < 0) m = -m
        printf "target < %s %s: %s by %.0f%%", g, u, v < g ? "met" : "missed", m }'
}

rc=0
run 1x1 1 --set trainer.params.tournament_size=1 || rc=1
run 2x2 2 || rc=1
# Again with the products on AMX in two bf16 limbs (general.matmul_
# precision: high), where lpz can run them (lpz --version says; it would
# fall back to fp32 elsewhere and repeat the rows above under another name).
# Where only medium runs in bf16 (AVX512-BF16 without AMX), medium instead.
if "$lpz" --version | grep -q 'high and medium (AMX'; then
    run "1x1 high" 1 --set trainer.params.tournament_size=1 --set general.matmul_precision=high || rc=1
    run "2x2 high" 2 --set general.matmul_precision=high || rc=1
elif "$lpz" --version | grep -q 'medium (AVX512-BF16'; then
    run "1x1 medium" 1 --set trainer.params.tournament_size=1 --set general.matmul_precision=medium || rc=1
    run "2x2 medium" 2 --set general.matmul_precision=medium || rc=1
else
    echo "matmul precision high: not run ($("$lpz" --version | tail -1))"
fi
exit $rc
