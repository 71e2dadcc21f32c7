#!/usr/bin/env bash
# End-to-end: the general.logging switches of `lpz train`.
# image_format: jpg writes the sample grids as JPEG (iteration-NNNN.jpg)
# and report.html embeds them as image/jpeg; enabled: false writes no sample
# images and no report.html, but metrics.csv, timing.csv, config.yml, the
# checkpoints and the final models and mixtures, which --resume, lpz report
# and lpz generate still use. The log's per-iteration fitness is metrics.csv's.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"

# 1. image_format: jpg
"$LPZ" train -f "$CFG" --set general.output_dir="$work/j" --set trainer.n_iterations=1 \
  --set general.logging.image_format=jpg -q > "$work/j.out"
d=$(run_dir "$work/j")
for c in 0 1 2 3; do
  f="$d/samples/cell-$c/iteration-0001.jpg"
  [ -s "$f" ] || fail "no $f: $(ls -R "$d/samples" 2>&1)"
  [ "$(head -c 3 "$f" | od -An -tx1 | tr -d ' \n')" = "ffd8ff" ] || fail "$f is not a JPEG"
  [ ! -e "$d/samples/cell-$c/iteration-0001.png" ] || fail "image_format: jpg still wrote a PNG of cell $c"
done
[ -s "$d/report.html" ] || fail "no report.html"
n=$(grep -o 'src="data:image/jpeg;base64,/9j/' "$d/report.html" | wc -l)
[ "$n" -eq 4 ] || fail "report.html embeds $n JPEG samples, expected 4"
! grep -q 'data:image/png' "$d/report.html" || fail "report.html embeds a PNG"
! grep -q 'class="notices"' "$d/report.html" || fail "report.html lists problems"

# 2. enabled: false
"$LPZ" train -f "$CFG" --set general.output_dir="$work/n" --set trainer.n_iterations=1 \
  --set general.logging.enabled=false -q > "$work/n.out"
d=$(run_dir "$work/n")
no_logs() { # the samples and report.html are missing, the results are there
  [ ! -e "$d/report.html" ] || fail "logging.enabled: false wrote report.html ($1)"
  if [ -e "$d/samples" ]; then
    fail "logging.enabled: false wrote samples ($1): $(find "$d/samples")"
  fi
  for f in config.yml metrics.csv timing.csv; do [ -s "$d/$f" ] || fail "missing $f ($1)"; done
  [ "$(wc -l < "$d/metrics.csv")" -eq $((1 + 4 * $2)) ] || fail "metrics.csv has $(wc -l < "$d/metrics.csv") lines ($1)"
  for c in 0 1 2 3; do
    [ -s "$d/checkpoints/cell-$c.safetensors" ] || fail "no checkpoint of cell $c ($1)"
    [ -s "$d/master/$c/mixture.yml" ] || fail "no mixture of cell $c ($1)"
    [ -s "$d/master/$c/generator-$c.safetensors" ] || fail "no generator of cell $c ($1)"
  done
}
no_logs "a run" 1
grep -q "^results: ${d%/}" "$work/n.out" || fail "summary: $(cat "$work/n.out")"
# --resume reads the run's config.yml: still no samples, no report
"$LPZ" train --resume "$d" --set trainer.n_iterations=2 -q > "$work/n2.out"
no_logs "after --resume" 2
# The results are usable: lpz report and lpz generate on demand.
"$LPZ" report "$d" > "$work/report.out" || fail "lpz report: $(cat "$work/report.out")"
[ -s "$d/report.html" ] || fail "lpz report wrote no report.html"
"$LPZ" generate -f "$d/config.yml" --mixture-source "$d/master/0" -o "$work/gen" --sample-size 4 -q \
  > "$work/gen.out" || fail "lpz generate: $(cat "$work/gen.out")"
[ -s "$work/gen/grid.png" ] || fail "lpz generate wrote no grid.png"
# 3. The log's "iteration K/N done" lines show the mean best fitness of iteration K as metrics.csv has it (they showed
# the next iteration's: the line is written once the slowest cell has finished K, and the cells ahead had evaluated
# their populations again by then).
"$LPZ" train -f "$CFG" --set general.output_dir="$work/f" --set trainer.n_iterations=4 > "$work/f.out" 2> "$work/f.log"
d=$(run_dir "$work/f")
grep "iteration [0-9]*/4 done: mean best fitness" "$work/f.log" > "$work/f.lines" || fail "no iteration lines: \
$(cat "$work/f.log")"
awk -F, 'NR == FNR { if (FNR > 1) { g[$1] += $5; d[$1] += $6; n[$1]++ } next }
  { split($0, a, "iteration "); split(a[2], b, "/"); k = b[1]
    match($0, /G -?[0-9.]+ D -?[0-9.]+/); split(substr($0, RSTART, RLENGTH), v, " ")
    dg = v[2] - g[k] / n[k]; dd = v[4] - d[k] / n[k]
    if (!n[k] || dg > 2e-4 || dg < -2e-4 || dd > 2e-4 || dd < -2e-4) {
      printf "iteration %s: log G %s D %s, metrics.csv G %.4f D %.4f\n", k, v[2], v[4], g[k] / n[k], d[k] / n[k]
      bad = 1 }
    checked++ }
  END { exit bad || !checked }' "$d/metrics.csv" "$work/f.lines" > "$work/f.diff" \
  || fail "the log's fitness is not metrics.csv's: $(cat "$work/f.diff")"
echo "e2e logging: all checks passed"
