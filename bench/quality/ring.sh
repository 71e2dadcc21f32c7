#!/usr/bin/env bash
# bench/quality/ring.sh [options] - mode collapse on the classic toy
# problem: 2-D points from a ring of 8 Gaussians (centres 100 + 20 cos a,
# 50 + 10 sin a for a = k 45 degrees, sd 0.5; the `npy` dataloader), trained
# with configuration/own-data/ring.yml on a 1x1 grid (one GAN) and on a
# 3x3 grid, several seeds each. For the best cell's mixture of each run,
# 4,000 generated points: how many of the 8 modes hold at least 2% of them
# (a point belongs to the mode nearest in angle, when it lies within 0.25
# of the ring's radius), and the share of points on the ring.
#
# Not a test and not part of `make bench` (bench/run.sh skips this folder).
# About 10 s per 1x1 run and 70 s per 3x3 run on 2 cores.
#
#   -b BUILD_DIR   lpz build (default: build)
#   -o OUT         folder for the data and the runs (default: build/quality-ring)
#   -g "1 3"       grid sizes
#   -s "1 2 3 4 5" seeds
#   -i N           iterations (default: the file's, 100)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=
grids="1 3"
seeds="1 2 3 4 5"
iters=
while getopts "b:o:g:s:i:h" opt; do
    case $opt in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    g) grids=$OPTARG ;;
    s) seeds=$OPTARG ;;
    i) iters=$OPTARG ;;
    *) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
. "$here/common.sh"
quality_lpz ring.sh "$build"
quality_whole ring.sh $grids $seeds ${iters:+"$iters"}
out=${out:-$build/quality-ring}
config=$root/configuration/own-data/ring.yml
command -v python3 > /dev/null || { echo "ring.sh: python3 is needed to write the data" >&2; exit 1; }
mkdir -p "$out" || exit 1
# The data, with Python's standard library only (the how-to's snippet uses numpy).
python3 - "$out/ring.npy" <<'EOF'
import math, random, struct, sys
random.seed(0)
rows = []
for _ in range(4000):
    a = random.randrange(8) * math.pi / 4
    rows += [100 + 20 * math.cos(a) + random.gauss(0, 0.5), 50 + 10 * math.sin(a) + random.gauss(0, 0.5)]
head = "{'descr': '<f8', 'fortran_order': False, 'shape': (4000, 2), }"
head += " " * (63 - (10 + len(head)) % 64) + "\n"
with open(sys.argv[1], "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode())
    f.write(struct.pack("<%dd" % len(rows), *rows))
EOF

echo "ring of 8 Gaussians, $(date '+%Y-%m-%d %H:%M'): $config"
echo "train: $lpz train -q -f $config --set dataloader.path=$out/ring.npy --grid K --set general.seed=S" \
     "${iters:+--set trainer.n_iterations=$iters }--set general.output_dir=$out/gK-sS"
echo "then:  $lpz generate -f RUN/config.yml --mixture-source BEST_MIXTURE --sample-size 4000 -o OUT -q"
echo
printf '| grid | seed | train s | best cell | generators in its mixture | modes covered (of 8) | points on the ring |\n'
printf '|------|------|---------|-----------|---------------------------|----------------------|--------------------|\n'
rows=$out/rows.txt
: > "$rows"
for k in $grids; do
    for s in $seeds; do
        dir=$out/g$k-s$s
        rm -rf "$dir" "$dir.gen"
        if ! "$lpz" train -q -f "$config" --set dataloader.path="$out/ring.npy" --grid "$k" --set general.seed="$s" \
            ${iters:+--set trainer.n_iterations=$iters} --set general.output_dir="$dir" > "$dir.out" 2> "$dir.log"; then
            echo "| $k | $s | failed: $(tail -n 1 "$dir.log") |"
            continue
        fi
        secs=$(sed -n 's/^trained [0-9]* cells\{0,1\} in \([0-9.]*\) s.*/\1/p' "$dir.out")
        best=$(sed -n 's/^best cell: \([0-9]*\).*/\1/p' "$dir.out")
        mix=$(sed -n 's/^best mixture: //p' "$dir.out")
        run=$(dirname "$(dirname "$mix")")
        if ! "$lpz" generate -f "$run/config.yml" --mixture-source "$mix" --sample-size 4000 -o "$dir.gen" -q \
            > /dev/null 2>> "$dir.log"; then
            echo "| $k | $s | generate failed: $(tail -n 1 "$dir.log") |"
            continue
        fi
        gens=$(grep -c "generator-" "$mix/mixture.yml")
        # samples.csv: sample,feature_0,feature_1 in the data's units
        read -r modes ring < <(awk -F, 'NR > 1 {
                x = ($2 - 100) / 20; y = ($3 - 50) / 10; r = sqrt(x * x + y * y); n++
                if (r > 0.75 && r < 1.25) {
                    on++; a = atan2(y, x) / (3.14159265358979 / 4); k = int(a < 0 ? a - 0.5 : a + 0.5)
                    c[(k % 8 + 8) % 8]++
                }
            }
            END {for (k = 0; k < 8; k++) m += c[k] >= 0.02 * n; printf "%d %.0f\n", m, 100 * on / n}' \
            "$dir.gen/samples.csv")
        printf '| %s | %s | %s | %s | %s | %s | %s%% |\n' "$k" "$s" "$secs" "$best" "$gens" "$modes" "$ring"
        echo "$k $modes $ring" >> "$rows"
    done
done
echo
echo "medians per grid size:"
for k in $grids; do
    awk -v k="$k" -f "$here/median.awk" \
        -v fmt="  %dx%d (%d runs): %s of 8 modes covered, %s%% of the points on the ring\n" "$rows"
done
