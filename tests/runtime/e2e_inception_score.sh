#!/usr/bin/env bash
# End-to-end: trainer.params.score.type inception_score. Each iteration's
# score is the inception score of the cell's mixture (the classifier's 10
# class probabilities: at least 1, at most 10), the mixture-weight mutation
# keeps higher ones, and without final scores the best cell is the one with
# the highest score of its last iteration, in the summary and report.html.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
# A freshly initialised classifier as the feature model (training one takes a minute), its logits scaled up so
# that the class probabilities, and the inception scores, differ between mixtures.
"$LPZ_BUILD_DIR/tests/score_tool" classifier "$work/clf.safetensors" 1 30
IS=(--set trainer.params.score.enabled=true --set trainer.params.score.type=inception_score
    --set trainer.params.score.score_sample_size=200 --set trainer.params.score.feature_model="$work/clf.safetensors")
"$LPZ" train -f "$CFG" --set general.output_dir="$work/a" --set trainer.n_iterations=2 "${IS[@]}" \
  > "$work/a.out" 2> "$work/a.log" || fail "train failed: $(cat "$work/a.log")"
d=$(run_dir "$work/a")
grep -q "preparing the inception score" "$work/a.log" || fail "log: $(cat "$work/a.log")"
# iteration,cell,g_loss,d_loss,g_fitness,d_fitness,g_lr,d_lr,score,...: 2 iterations x 4 cells of scores in [1, 10]
[ "$(awk -F, 'NR > 1 && $9 >= 1 && $9 <= 10' "$d/metrics.csv" | wc -l)" -eq 8 ] \
  || fail "metrics.csv's score column: $(cut -d, -f1,2,9 "$d/metrics.csv")"
# the best cell: one with the highest score of the last iteration (as metrics.csv prints them: ties possible)
top=$(awk -F, 'NR > 1 && $1 == 2 {print $9}' "$d/metrics.csv" | sort -g | tail -n 1)
cell=$(sed -n "s/^best cell: \([0-3]\) (inception score [0-9.]*, the last iteration's)$/\1/p" "$work/a.out")
[ -n "$cell" ] || fail "summary: $(cat "$work/a.out")"
[ "$(awk -F, -v c="$cell" 'NR > 1 && $1 == 2 && $2 == c {print $9}' "$d/metrics.csv")" = "$top" ] \
  || fail "cell $cell is not one with the highest score $top: $(cut -d, -f1,2,9 "$d/metrics.csv")"
rcell=$(grep -o '[0-3] (highest inception score: ' "$d/report.html" | head -n 1 | cut -c1)
[ -n "$rcell" ] && [ "$(awk -F, -v c="$rcell" 'NR > 1 && $1 == 2 && $2 == c {print $9}' "$d/metrics.csv")" = "$top" ] \
  || fail "report.html's best cell: $(grep -o 'class="best-cell">[^<]*' "$d/report.html")"
grep -q "score (inception score, higher is better)" "$d/report.html" || fail "report.html's score chart title"
echo "e2e inception score: all checks passed"
