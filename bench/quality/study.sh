#!/usr/bin/env bash
# bench/quality/study.sh [options] - what the grid does for the quality of
# the generators: the published NeurIPS 2018 MNIST configuration
# (configuration/neurips2018/mnist-2x2.yml: MLP GAN, a full pass over the
# data per iteration, selection off, FID of each cell's mixture every
# iteration, 50,000 samples at the end) on Fashion-MNIST (or MNIST), trained
# on a 1x1 grid (one GAN) and on larger grids, several seeds each; then the
# best cell's mixture of every run scored once more by `lpz score` (FID,
# inception score and the TVD of the class histogram, the papers' mode
# coverage measure, on SAMPLES samples against as many real ones).
#
# Not a test and not part of `make bench` (bench/run.sh skips this folder):
# it takes long (100 iterations: about 3 minutes for a 1x1 run on 2 cores,
# 13 for a 2x2, 30 for a 3x3). Runs whose folder already holds a finished
# run are not trained again, so an interrupted study resumes by running the
# same command, and the table can be printed again from its folder.
#
#   -b BUILD_DIR   lpz build (default: build)
#   -o OUT         study folder (default: build/quality); one run per OUT/g<K>-s<S>
#   -g "1 2 3"     grid sizes K
#   -s "1 2 3"     seeds for every grid size
#   -i N           iterations per run (default 100; the published runs: 200)
#   -d NAME        dataset: fashion_mnist (default) or mnist
#   -n SAMPLES     samples for the scores of lpz score (default 10000)
#
# Prints a row per run and the median per grid size, with the commands.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build
out=
grids="1 2 3"
seeds="1 2 3"
iters=100
dataset=fashion_mnist
samples=10000
while getopts "b:o:g:s:i:d:n:h" opt; do
    case $opt in
    b) build=$OPTARG ;;
    o) out=$OPTARG ;;
    g) grids=$OPTARG ;;
    s) seeds=$OPTARG ;;
    i) iters=$OPTARG ;;
    d) dataset=$OPTARG ;;
    n) samples=$OPTARG ;;
    *) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
    esac
done
. "$here/common.sh"
quality_lpz study.sh "$build"
quality_whole study.sh $grids $seeds "$iters" "$samples"
out=${out:-$build/quality}
config=$root/configuration/neurips2018/mnist-2x2.yml
mkdir -p "$out" || exit 1

# The finished run in folder $1 (its final_scores.csv lists every cell), or "".
finished_run() {
    local r
    for r in "$1"/lipizzaner_gan/*/; do
        [ -f "$r/final_scores.csv" ] || continue
        awk -F, 'NR > 1 && $4 == "" {bad = 1} NR > 1 {n++} END {exit bad || n == 0}' "$r/final_scores.csv" \
            && { echo "${r%/}"; return; }
    done
}

echo "quality study, $(date '+%Y-%m-%d %H:%M'): $config on $dataset, $iters iterations"
echo "train: $lpz train -q -f $config --set dataloader.dataset_name=$dataset --grid K --set general.seed=S \\"
echo "         --set trainer.n_iterations=$iters --set general.output_dir=$out/gK-sS"
echo "score: $lpz score -f RUN/config.yml --mixture-source RUN/master/BEST --sample-size $samples"
echo
printf '| grid | seed | train s | best cell | final FID (50000) | FID (%s) | inception score | TVD |\n' "$samples"
printf '|------|------|---------|-----------|-------------------|-------------|-----------------|-----|\n'
rows=$out/rows.txt
: > "$rows"
for k in $grids; do
    for s in $seeds; do
        dir=$out/g$k-s$s
        run=$(finished_run "$dir")
        if [ -z "$run" ]; then
            rm -rf "$dir"
            "$lpz" train -q -f "$config" --set dataloader.dataset_name="$dataset" --grid "$k" \
                --set general.seed="$s" --set trainer.n_iterations="$iters" --set general.output_dir="$dir" \
                > "$dir.out" 2> "$dir.log"
            rc=$?
            run=$(finished_run "$dir")
            if [ $rc -ne 0 ] || [ -z "$run" ]; then
                echo "| $k | $s | failed (exit $rc): $(tail -n 1 "$dir.log") |"
                continue
            fi
        fi
        secs=$(sed -n 's/^trained [0-9]* cells\{0,1\} in \([0-9.]*\) s.*/\1/p' "$dir.out" 2>/dev/null)
        # the best cell: the lowest final FID of final_scores.csv (the summary's rule)
        read -r best final < <(awk -F, 'NR > 1 && $4 != "" && (b == "" || $4 + 0 < f) {b = $1; f = $4 + 0}
            END {printf "%s %.2f\n", b, f}' "$run/final_scores.csv")
        sc=$("$lpz" score -f "$run/config.yml" --mixture-source "$run/master/$best" --sample-size "$samples" \
            2>/dev/null)
        fid=$(awk '$1 == "FID" {printf "%.2f", $2}' <<< "$sc")
        is=$(awk '$1 == "inception" {printf "%.2f", $3}' <<< "$sc")
        tvd=$(awk '$1 == "TVD" {printf "%.3f", $2}' <<< "$sc")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$k" "$s" "${secs:--}" "$best" "$final" "${fid:--}" \
            "${is:--}" "${tvd:--}"
        # medians only over runs with every score (a failed lpz score is a '-' in its row)
        [ -n "$fid" ] && [ -n "$is" ] && [ -n "$tvd" ] && echo "$k $final $fid $is $tvd" >> "$rows"
    done
done
echo
echo "medians per grid size (runs; final FID over 50000 samples; FID, inception score and TVD over $samples):"
for k in $grids; do
    awk -v k="$k" -f "$here/median.awk" \
        -v fmt="  %dx%d (%d runs): final FID %.2f, FID %.2f, inception score %.2f, TVD %.3f\n" "$rows"
done
