#!/usr/bin/env bash
# End-to-end: master.calculate_score of a local run. Ctrl-C inside a cell's
# scoring ends it there (not after the cell, nor after every cell), exits
# 130 and says that only the final scoring was stopped; --resume then only
# scores (no training, the run's files as they were); the scores are kept
# in final_scores.csv and a later --resume takes them instead of drawing
# new samples, unless the sample size changed or the cells trained on; the
# summary gives the final scoring's time apart from the training's.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
# A freshly initialised classifier as the feature model (training one takes a minute).
"$LPZ_BUILD_DIR/tests/score_tool" classifier "$work/clf.safetensors" 1
"$LPZ_BUILD_DIR/tests/score_tool" classifier "$work/clf2.safetensors" 2
# final_scores.csv's features column: what the FIDs were measured with (lpz_scorer_identity)
FEATURES='classifier-[0-9a-f]{16}-data-[0-9a-f]{16}'
FIN=(--set master.calculate_score=true --set trainer.params.score.feature_model="$work/clf.safetensors")
# best_of RUN_DIR: "FID cell" of the lowest final FID in its final_scores.csv, the FID as the summary prints it
best_of() { awk -F, 'NR > 1 && $4 != "" {print $4, $1}' "$1/final_scores.csv" | sort -g | head -n 1 \
  | awk '{printf "%.4f %s\n", $1, $2}'; }
# report_names_best RUN_DIR "FID cell" SAMPLES: report.html names the cell of the lowest final FID, as the summary
report_names_best() {
  grep -q "data-best-cell=\"${2#* }\"" "$1/report.html" \
    || fail "report.html should name cell ${2#* } best: $(grep -o 'data-best-cell="[0-9-]*"' "$1/report.html")"
  grep -q "${2#* } (lowest final FID: ${2% *} over $3 samples)" "$1/report.html" \
    || fail "report.html's best cell line: $(grep -o 'class="best-cell">[^<]*' "$1/report.html")"
  [ "$(grep -o 'data-final-fid="' "$1/report.html" | wc -l)" -eq 4 ] || fail "report.html should show 4 final FIDs"
}

# 1. Ctrl-C once the first cell's scoring began (the default 50,000 samples: seconds per cell). The stop used to be
#    looked at between cells only: the cell ran to its end, and the run called itself stopped like a training.
t0=$(date +%s.%N)
"$LPZ" train -f "$CFG" --set general.output_dir="$work/s" "${FIN[@]}" -v > "$work/s.out" 2> "$work/s.log" &
pid=$!
for _ in $(seq 1 1200); do
  grep -q "cell 0: scoring the final mixture (50000 samples)" "$work/s.log" && break
  kill -0 $pid 2> /dev/null || break
  sleep 0.05
done
grep -q "cell 0: scoring the final mixture" "$work/s.log" || fail "final scoring did not start: $(tail "$work/s.log")"
kill -INT $pid
set +e
wait $pid
status=$?
set -e
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
[ "$status" -eq 130 ] || fail "Ctrl-C during the final scoring should exit 130, got $status: $(cat "$work/s.out")"
grep -q "final mixture FID" "$work/s.log" \
  && fail "the cell being scored ran to its end: $(grep "mixture FID" "$work/s.log")"
# The Ctrl-C's own message says what it stops (it said "stopping after the current batch", a training's).
grep -q "^lpz: stopping the final scoring; the training is complete (Ctrl-C again to exit at once)$" "$work/s.log" \
  || fail "Ctrl-C's message during the final scoring: $(grep "^lpz: " "$work/s.log")"
grep -q "current batch" "$work/s.log" && fail "a training's Ctrl-C message during the final scoring"
grep -q "^trained 4 cells in [0-9.]* s (median " "$work/s.out" || fail "the training finished: $(cat "$work/s.out")"
grep -q "^final scoring: stopped after [0-9.]* s with 0 of 4 cells scored; the training is complete" "$work/s.out" \
  || fail "summary of a stopped final scoring: $(cat "$work/s.out")"
d=$(run_dir "$work/s")
grep -q "^to score the other 4: lpz train --resume ${d%/}$" "$work/s.out" || fail "no resume hint: $(cat "$work/s.out")"
# The training's time and the final scoring's are apart: together they fit in the run's wall time.
trained=$(sed -n 's/^trained 4 cells in \([0-9.]*\) s .*/\1/p' "$work/s.out")
scoring=$(sed -n 's/^final scoring: stopped after \([0-9.]*\) s .*/\1/p' "$work/s.out")
awk -v t="$trained" -v s="$scoring" -v w="$wall" 'BEGIN {exit !(t + s <= w + 0.2)}' \
  || fail "training ($trained s) and final scoring ($scoring s) overlap in a run of $wall s"
[ "$(wc -l < "$d/metrics.csv")" -eq 13 ] || fail "metrics.csv should have 1 + 3x4 rows"
[ "$(cat "$d/final_scores.csv")" = \
  "$(printf 'cell,iterations,samples,fid,features\n0,3,,,\n1,3,,,\n2,3,,,\n3,3,,,')" ] \
  || fail "final_scores.csv of a stopped scoring: $(cat "$d/final_scores.csv")"
grep -q "incomplete: 0 of 4 cells scored" "$d/report.html" || fail "report.html of a stopped final scoring"

# 2. --resume only scores: nothing is trained, the run's files stay as they were, and the best cell is the lowest.
cp -r "$d" "$work/before"
"$LPZ" train --resume "$d" --set master.score_sample_size=200 > "$work/r1.out" 2> "$work/r1.log" \
  || fail "resume of a stopped final scoring: $(cat "$work/r1.log")"
grep -q "only the final scoring is left" "$work/r1.log" || fail "resume: $(cat "$work/r1.log")"
grep -q "training a 2x2 grid\|resuming from iteration" "$work/r1.log" \
  && fail "the resume trained: $(cat "$work/r1.log")"
grep -q "^training already complete: 4 cells, 3 iterations$" "$work/r1.out" || fail "summary: $(cat "$work/r1.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (200 samples each)$" "$work/r1.out" \
  || fail "summary: $(cat "$work/r1.out")"
[ "$(grep -c "final mixture FID [0-9.]* (200 samples)$" "$work/r1.log")" -eq 4 ] || fail "expected 4 final FIDs"
best=$(best_of "$d")
grep -q "^best cell: ${best#* } (final FID ${best% *} over 200 samples)$" "$work/r1.out" \
  || fail "best cell should be the lowest final FID ($best): $(cat "$work/r1.out")"
report_names_best "$d" "$best" 200
for f in metrics.csv timing.csv checkpoints/cell-0.safetensors master/0/mixture.yml master/1/generator-1.safetensors \
  master/3/discriminator-2.safetensors samples/cell-2/iteration-0003.png; do
  cmp -s "$work/before/$f" "$d/$f" || fail "a resume that only scores changed $f"
done
[ "$(grep -cE "^[0-3],3,200,[0-9.e-]+,$FEATURES$" "$d/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d/final_scores.csv")"
grep -q "score_sample_size: 200" "$d/config.yml" || fail "config.yml should keep the resume's --set"

# 3. A plain --resume takes the saved scores (the same numbers, not a new draw) and says so.
cp "$d/final_scores.csv" "$work/scores-200.csv"
"$LPZ" train --resume "$d" > "$work/r2.out" 2> "$work/r2.log" || fail "second resume: $(cat "$work/r2.log")"
grep -q "scoring the final mixtures" "$work/r2.log" && fail "saved scores were computed again: $(cat "$work/r2.log")"
[ "$(grep -c "final mixture FID [0-9.]* (200 samples; from final_scores.csv)$" "$work/r2.log")" -eq 4 ] \
  || fail "the log should say where the scores came from: $(cat "$work/r2.log")"
grep -q "^final scoring: the 4 cells' scores from final_scores.csv (200 samples each; not scored again)$" \
  "$work/r2.out" || fail "summary: $(cat "$work/r2.out")"
[ "$(grep "^best cell: " "$work/r1.out")" = "$(grep "^best cell: " "$work/r2.out")" ] \
  || fail "the best cell changed on resume: $(grep "^best" "$work/r1.out" "$work/r2.out")"
cmp -s "$work/scores-200.csv" "$d/final_scores.csv" || fail "reused scores were rewritten"

# 4. Cells without a saved score (or with one over another sample size) are scored, the others taken.
sed -i 's/^\([23]\),3,.*$/\1,3,,,/' "$d/final_scores.csv"
"$LPZ" train --resume "$d" > "$work/r3.out" 2> "$work/r3.log" || fail "partial resume: $(cat "$work/r3.log")"
grep -q "^final scoring: 2 cells in [0-9.]* s, 2 from final_scores.csv (200 samples each)$" "$work/r3.out" \
  || fail "summary of a partial scoring: $(cat "$work/r3.out")"
cmp -s "$work/scores-200.csv" "$d/final_scores.csv" || fail "a cell scored again gave another FID (per-cell seeds)"
# A cell listed twice (a hand edit, a merge): neither row is taken, the cell is scored again, the others taken.
sed -n 's/^0,3,200,[0-9.e-]*,/0,3,200,0.001,/p' "$d/final_scores.csv" >> "$d/final_scores.csv"
"$LPZ" train --resume "$d" > "$work/dup.out" 2> "$work/dup.log" || fail "resume: $(cat "$work/dup.log")"
grep -q "final_scores.csv:6: cell 0 is listed a second time; neither row is used" "$work/dup.log" \
  || fail "a cell listed twice: $(cat "$work/dup.log")"
grep -q "^final scoring: 1 cell in [0-9.]* s, 3 from final_scores.csv (200 samples each)$" "$work/dup.out" \
  || fail "summary with a cell listed twice: $(cat "$work/dup.out")"
cmp -s "$work/scores-200.csv" "$d/final_scores.csv" || fail "the cell listed twice is not scored as before"
"$LPZ" train --resume "$d" --set master.score_sample_size=300 > "$work/r4.out" 2> "$work/r4.log" \
  || fail "resume with another sample size: $(cat "$work/r4.log")"
grep -q "holds the final scores of 4 cells over 200 samples, master.score_sample_size is 300: scoring them again" \
  "$work/r4.log" || fail "the log should say why the cells are scored again: $(cat "$work/r4.log")"
grep -q "^final scoring: 4 cells in [0-9.]* s (300 samples each)$" "$work/r4.out" \
  || fail "summary: $(cat "$work/r4.out")"

# 5. Training on (more iterations): the mixtures change, so they are scored again.
"$LPZ" train --resume "$d" --set trainer.n_iterations=4 > "$work/r5.out" 2> "$work/r5.log" \
  || fail "extending the run: $(cat "$work/r5.log")"
[ "$(wc -l < "$d/metrics.csv")" -eq 17 ] || fail "metrics.csv should have 1 + 4x4 rows"
grep -q "4 cells trained on since final_scores.csv was written: scoring them again" "$work/r5.log" \
  || fail "the log should say why the cells are scored again: $(cat "$work/r5.log")"
grep -q "^trained 4 cells in [0-9.]* s (median " "$work/r5.out" || fail "summary: $(cat "$work/r5.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (300 samples each)$" "$work/r5.out" \
  || fail "summary: $(cat "$work/r5.out")"
[ "$(grep -cE "^[0-3],4,300,[0-9.e-]+,$FEATURES$" "$d/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d/final_scores.csv")"

# 6. A run that trains and scores in one go gives both times, each on its own line.
"$LPZ" train -f "$CFG" --set general.output_dir="$work/n" "${FIN[@]}" --set master.score_sample_size=150 \
  > "$work/n.out" 2> "$work/n.log" || fail "train and score: $(cat "$work/n.log")"
grep -q "^trained 4 cells in [0-9.]* s (median [0-9.]* s per iteration)$" "$work/n.out" || fail "$(cat "$work/n.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (150 samples each)$" "$work/n.out" || fail "$(cat "$work/n.out")"
# report.html, written at the end of the training, is written again after the final scoring, with its scores.
nd=$(run_dir "$work/n")
best=$(best_of "$nd")
grep -q "^best cell: ${best#* } (final FID ${best% *} over 150 samples)$" "$work/n.out" || fail "$(cat "$work/n.out")"
report_names_best "$nd" "$best" 150

# 7. A finished run without final_scores.csv (trained with master.calculate_score off): a --resume used to set every
#    cell up again for zero iterations, rewriting the mixtures and report.html. Scoring off: it says the run is
#    complete and changes no file, not even config.yml.
"$LPZ" train -f "$CFG" --set general.output_dir="$work/o" > "$work/o.out" 2> "$work/o.log" \
  || fail "$(cat "$work/o.log")"
od=$(run_dir "$work/o")
od=${od%/}
cp -a "$od" "$work/o-before"
"$LPZ" train --resume "$od" > "$work/o1.out" 2> "$work/o1.log" \
  || fail "resume of a finished run: $(cat "$work/o1.log")"
grep -q "^training already complete: 4 cells, 3 iterations$" "$work/o1.out" || fail "summary: $(cat "$work/o1.out")"
grep -q "complete (3 iterations, checkpoints and final mixtures) and master.calculate_score is off: nothing to do" \
  "$work/o1.log" || fail "the log should say why nothing is done: $(cat "$work/o1.log")"
grep -q "resuming from iteration\|training a 2x2 grid" "$work/o1.log" \
  && fail "the resume trained: $(cat "$work/o1.log")"
[ "$(grep "^best cell: " "$work/o.out")" = "$(grep "^best cell: " "$work/o1.out")" ] \
  || fail "the best cell changed: $(grep "^best" "$work/o.out" "$work/o1.out")"
diff -r "$work/o-before" "$od" > /dev/null \
  || fail "a resume of a finished run changed files: $(diff -rq "$work/o-before" "$od")"
# Scoring on: only the scoring, every file of the training as it was.
"$LPZ" train --resume "$od" "${FIN[@]}" --set master.score_sample_size=200 > "$work/o2.out" 2> "$work/o2.log" \
  || fail "scoring a finished run: $(cat "$work/o2.log")"
grep -q "complete (3 iterations, checkpoints and final mixtures): only the final scoring is left" "$work/o2.log" \
  || fail "$(cat "$work/o2.log")"
grep -q "resuming from iteration\|training a 2x2 grid" "$work/o2.log" \
  && fail "the resume trained: $(cat "$work/o2.log")"
grep -q "^training already complete: 4 cells, 3 iterations$" "$work/o2.out" || fail "summary: $(cat "$work/o2.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (200 samples each)$" "$work/o2.out" || fail "$(cat "$work/o2.out")"
best=$(best_of "$od")
grep -q "^best cell: ${best#* } (final FID ${best% *} over 200 samples)$" "$work/o2.out" \
  || fail "$(cat "$work/o2.out")"
report_names_best "$od" "$best" 200
changed=$(diff -rq "$work/o-before" "$od" | sort || true)
[ "$changed" = "$(printf '%s\n' "Files $work/o-before/config.yml and $od/config.yml differ" \
  "Files $work/o-before/report.html and $od/report.html differ" "Only in $od: final_scores.csv" | sort)" ] \
  || fail "a resume that only scores changed: $changed"
# A mixture older than its cell's checkpoint (a run killed after its last checkpoints, before its final mixtures):
# not complete, the cells are set up again and write their mixtures.
rm "$od/final_scores.csv"
touch -d "1 hour ago" "$od/master/1/mixture.yml"
"$LPZ" train --resume "$od" > "$work/o3.out" 2> "$work/o3.log" || fail "$(cat "$work/o3.log")"
grep -q "resuming from iteration 3 of 3" "$work/o3.log" \
  || fail "the cells should be set up again: $(cat "$work/o3.log")"
[ ! "$od/master/1/mixture.yml" -ot "$od/checkpoints/cell-1.safetensors" ] || fail "the mixture was not rewritten"

# 8. The saved scores belong to the features and data they were measured with: a resume with another feature model
#    took the other classifier's FIDs as they were (and a partial rescoring mixed both). Now such cells are scored
#    again, and final_scores.csv says with what; a file of an lpz without the column is taken as before.
"$LPZ" train --resume "$d" --set master.score_sample_size=300 > "$work/f0.out" 2> "$work/f0.log" \
  || fail "$(cat "$work/f0.log")"
grep -q "^final scoring: the 4 cells' scores from final_scores.csv (300 samples each; not scored again)$" \
  "$work/f0.out" || fail "the same features: the saved scores should be taken: $(cat "$work/f0.out")"
feat1=$(awk -F, 'NR == 2 {print $5}' "$d/final_scores.csv")
cp "$d/final_scores.csv" "$work/scores-clf1.csv"
"$LPZ" train --resume "$d" --set master.score_sample_size=300 \
  --set trainer.params.score.feature_model="$work/clf2.safetensors" > "$work/f1.out" 2> "$work/f1.log" \
  || fail "resume with another feature model: $(cat "$work/f1.log")"
other="measured with other features or other data than this scoring's (features: $work/clf2.safetensors)"
grep -q "holds the final scores of 4 cells $other: scoring them again" \
  "$work/f1.log" || fail "the log should say why the cells are scored again: $(cat "$work/f1.log")"
grep -q "^final scoring: 4 cells in [0-9.]* s (300 samples each)$" "$work/f1.out" \
  || fail "another feature model: every cell should be scored again: $(cat "$work/f1.out")"
feat2=$(awk -F, 'NR == 2 {print $5}' "$d/final_scores.csv")
[ -n "$feat2" ] && [ "$feat1" != "$feat2" ] || fail "the features column should change: '$feat1' -> '$feat2'"
[ "$(grep -cE "^[0-3],4,300,[0-9.e-]+,$feat2$" "$d/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d/final_scores.csv")"
cmp -s "$work/scores-clf1.csv" "$d/final_scores.csv" && fail "the other classifier gave the same file"
# Half the cells measured with the first classifier: only those are scored again.
awk -F, -v OFS=, -v f="$feat1" 'NR > 1 && $1 >= 2 {$5 = f} 1' "$d/final_scores.csv" > "$work/mixed.csv"
cp "$work/mixed.csv" "$d/final_scores.csv"
cp "$d/final_scores.csv" "$work/scores-clf2.csv"
"$LPZ" train --resume "$d" --set master.score_sample_size=300 \
  --set trainer.params.score.feature_model="$work/clf2.safetensors" > "$work/f2.out" 2> "$work/f2.log" \
  || fail "$(cat "$work/f2.log")"
grep -q "holds the final scores of 2 cells measured with other features" "$work/f2.log" || fail "$(cat "$work/f2.log")"
grep -q "^final scoring: 2 cells in [0-9.]* s, 2 from final_scores.csv (300 samples each)$" "$work/f2.out" \
  || fail "summary: $(cat "$work/f2.out")"
[ "$(grep -cE "^[0-3],4,300,[0-9.e-]+,$feat2$" "$d/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d/final_scores.csv")"
# A file without the features column (an earlier lpz): its scores are taken as they are.
printf 'cell,iterations,samples,fid\n' > "$d/final_scores.csv"
awk -F, -v OFS=, 'NR > 1 {print $1, $2, $3, $4}' "$work/scores-clf2.csv" >> "$d/final_scores.csv"
cp "$d/final_scores.csv" "$work/old-format.csv"
"$LPZ" train --resume "$d" --set master.score_sample_size=300 > "$work/f3.out" 2> "$work/f3.log" \
  || fail "$(cat "$work/f3.log")"
grep -q "^final scoring: the 4 cells' scores from final_scores.csv (300 samples each; not scored again)$" \
  "$work/f3.out" || fail "a file without features should be taken: $(cat "$work/f3.out")"
# (rewritten with the column, empty: not known)
[ "$(cut -d, -f1-4 "$d/final_scores.csv" | tail -n +2)" = "$(tail -n +2 "$work/old-format.csv")" ] \
  && [ "$(cut -d, -f5 "$d/final_scores.csv" | sort -u | tr '\n' ' ')" = " features " ] \
  || fail "the taken scores changed: $(cat "$d/final_scores.csv")"
"$LPZ" train --resume "$d" --set master.score_sample_size=300 > "$work/f4.out" 2> "$work/f4.log" \
  || fail "$(cat "$work/f4.log")"
grep -q "^final scoring: the 4 cells' scores from final_scores.csv (300 samples each; not scored again)$" \
  "$work/f4.out" || fail "scores without features, once rewritten, should still be taken: $(cat "$work/f4.out")"
echo "e2e final score: all checks passed"
