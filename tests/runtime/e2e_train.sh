#!/usr/bin/env bash
# End-to-end: `lpz train` on a 2x2 grid writes every output; two
# --deterministic runs give identical metrics and models; a run stopped
# with SIGINT resumes to the configured iteration count.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
ST="$LPZ_SOURCE_DIR/tests/runtime/st_edit.py"

# PART (the first argument): outputs (1), determinism (2 and the resumes of the
# deterministic run), resume (3-5), or all; ctest runs the parts as three
# tests, side by side.
PART=${1:-all}
part() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }

if part outputs; then
# 1. Every output of a run.
"$LPZ" train -f "$CFG" --set general.output_dir="$work/a" -q > "$work/a.out"
d=$(run_dir "$work/a")
for f in config.yml metrics.csv timing.csv; do [ -s "$d/$f" ] || fail "missing $f"; done
[ "$(wc -l < "$d/metrics.csv")" -eq 13 ] || fail "metrics.csv should have 1 + 3x4 rows: $(wc -l < "$d/metrics.csv")"
for c in 0 1 2 3; do
  [ -s "$d/samples/cell-$c/iteration-0003.png" ] || fail "no samples of cell $c"
  [ -s "$d/checkpoints/cell-$c.safetensors" ] || fail "no checkpoint of cell $c"
  [ -s "$d/master/$c/mixture.yml" ] || fail "no mixture of cell $c"
  n=$(ls "$d/master/$c"/generator-*.safetensors | wc -l)
  [ "$n" -eq 3 ] || fail "cell $c has $n generators, expected 3 (its neighbourhood)"
  n=$(ls "$d/master/$c"/discriminator-*.safetensors | wc -l)
  [ "$n" -eq 3 ] || fail "cell $c has $n discriminators"
  grep -q "^generator-$c.safetensors: " "$d/master/$c/mixture.yml" || fail "mixture of cell $c lacks its own generator"
done
grep -q "^best cell: " "$work/a.out" || fail "no best cell in the summary"
grep -q "^results: $d" "$work/a.out" || grep -q "^results: ${d%/}" "$work/a.out" || fail "summary does not name the results"
# The sum of each mixture's weights is 1.
for c in 0 1 2 3; do
  awk -F': ' '/safetensors/ {s += $2} END {exit !(s > 0.999 && s < 1.001)}' "$d/master/$c/mixture.yml" \
    || fail "weights of cell $c do not sum to 1"
done

# A mixture holds its neighbours' final generators and discriminators, the ones their own cells saved (it held
# those of the start of the last iteration: the last fetch).
/usr/bin/python3 - "$d" <<'EOF' || fail "a mixture holds a neighbour's network other than the neighbour's final one"
import json, struct, sys
def tensors(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
d = sys.argv[1]
for c in range(4):
    for nb in (0, 1, 2, 3):
        for role in ("generator", "discriminator"):
            try:
                mine = tensors(f"{d}/master/{c}/{role}-{nb}.safetensors")
            except FileNotFoundError:
                continue
            own = tensors(f"{d}/master/{nb}/{role}-{nb}.safetensors")
            assert mine == own, (c, nb, role)
EOF

# Data dieting: each cell's fitness sample is drawn from its own subset (600 samples here, so the 1,000 of the
# sample are whole copies of it plus 400 of it drawn again; it came from the whole dataset). A smoke test of that
# path (under ASan in make sanitize): which rows the sample holds is not visible from here; lpz_draw_indices is
# checked in tests/data/test_batcher.c.
"$LPZ" train -f "$CFG" --set dataloader.sampling_ratio=0.01 --set trainer.n_iterations=1 -q \
  --set trainer.params.fitness.fitness_sample_size=1000 --set master.calculate_score=false \
  --set general.output_dir="$work/sr" > "$work/sr.out" 2>&1 || fail "sampling_ratio 0.01: $(cat "$work/sr.out")"

# With selection off the neighbours are opponents in training (the original
# draws them from the whole neighbourhood): cell 0's losses on a 2x2 grid are
# not those of a 1x1 run of the same seed (bit-identical while each cell
# trained against its own individuals only: independent GANs).
for k in 1 2; do
  "$LPZ" train -f "$CFG" --set general.output_dir="$work/sel$k" --set general.grid_size=$k --deterministic -q \
    --set trainer.params.enable_selection=false --set trainer.n_iterations=1 > /dev/null || fail "selection off, ${k}x$k"
done
l1=$(awk -F, '$1 == 1 && $2 == 0 {print $3, $4}' "$(run_dir "$work/sel1")/metrics.csv")
l2=$(awk -F, '$1 == 1 && $2 == 0 {print $3, $4}' "$(run_dir "$work/sel2")/metrics.csv")
[ -n "$l1" ] && [ -n "$l2" ] || fail "selection off: no row of cell 0"
[ "$l1" != "$l2" ] || fail "selection off: cell 0 trained the same on 1x1 and 2x2 ($l1): its neighbours took no part"

# Logging keys of the run file (each was accepted and did nothing): log_level (-v and -q win over it),
# general.name in every log line, print_discriminator, calculate_net_weights_dist.
ONE=(-f "$CFG" --set general.output_dir="$work/log" --set trainer.n_iterations=1)
"$LPZ" train "${ONE[@]}" --set general.logging.log_level=ERROR > /dev/null 2> "$work/l1.log"
grep -q "info:" "$work/l1.log" && fail "log_level ERROR still shows info lines: $(cat "$work/l1.log")"
"$LPZ" train "${ONE[@]}" --set general.logging.log_level=ERROR -v > /dev/null 2> "$work/l2.log"
grep -q "^lpz: debug: " "$work/l2.log" || fail "-v should win over log_level: $(head -3 "$work/l2.log")"
"$LPZ" train "${ONE[@]}" --set general.logging.log_level=DEBUG --set general.name=job7 > /dev/null 2> "$work/l3.log"
grep -q "^lpz\[job7\]: debug: " "$work/l3.log" || fail "log_level DEBUG / general.name: $(head -3 "$work/l3.log")"
grep -v -q "^lpz\[job7\]: \|^  " "$work/l3.log" && fail "a log line without the run's name: $(cat "$work/l3.log")"
"$LPZ" train "${ONE[@]}" --set trainer.n_iterations=2 --set general.logging.print_discriminator=true \
  --set trainer.calculate_net_weights_dist=true > /dev/null 2> "$work/l4.log"
grep -q "^lpz: info: discriminator: input 1x28x28 -> output 1, 267,009 parameters$" "$work/l4.log" \
  || fail "print_discriminator: $(cat "$work/l4.log")"
grep -q "^lpz: info:   5 Linear(256 -> 1) -> 1 \[4\]$" "$work/l4.log" || fail "discriminator layers: $(cat "$work/l4.log")"
# every cell, every iteration: its two neighbours' distances, finite and positive
n=$(grep -c "cell [0-3], iteration [12]: L2 distance of the weights to neighbours [0-3], [0-3]: generators [0-9.e+-]*, [0-9.e+-]*; discriminators [0-9.e+-]*, [0-9.e+-]*$" "$work/l4.log")
[ "$n" -eq 8 ] || fail "calculate_net_weights_dist: $n lines, expected 8: $(cat "$work/l4.log")"
sed -n 's/.*: generators //p' "$work/l4.log" | grep -q -E "nan|inf|(^| )0(,|;|$)" \
  && fail "distances must be finite and positive: $(grep "L2 distance" "$work/l4.log")"

# --port and --bind are a client's: a local run refuses them (it ignored them).
set +e
"$LPZ" train -f "$CFG" --set general.output_dir="$work/p" --port 6000 > "$work/port.out" 2>&1
status=$?
set -e
[ "$status" -eq 2 ] || fail "--port without --distributed: exit $status"
grep -q -- "--port is for a client" "$work/port.out" || fail "--port: $(cat "$work/port.out")"
[ ! -e "$work/p" ] || fail "a refused run wrote $work/p"

# The run folder removed during the run: the training stops, the run fails naming the folder, and config.yml is
# written again next to what the stop wrote, so that its mixtures are readable (a removal that met a checkpoint
# being written fails the cell: nothing is written, and the folder goes as any unused one); it trained on into a
# folder without config.yml or metrics.csv, the rows going to the removed file.
"$LPZ" train -f "$CFG" --grid 1 --set trainer.params.tournament_size=1 --set trainer.n_iterations=400 \
  --set general.output_dir="$work/gone" -q > "$work/gone.out" 2>&1 &
pid=$!
dg=""
for _ in $(seq 1 1200); do
  dg=$(run_dir "$work/gone" 2> /dev/null || true)
  if [ -n "$dg" ] && [ -f "$dg/metrics.csv" ] && [ "$(wc -l < "$dg/metrics.csv")" -ge 2 ]; then break; fi
  sleep 0.05
done
rm -rf "$dg" 2> /dev/null || true # (not empty at its end when the run made a folder in it meanwhile)
set +e
wait $pid
status=$?
set -e
[ "$status" -eq 1 ] || fail "a run whose folder was removed: exit $status: $(cat "$work/gone.out")"
grep -q "the run folder ${dg%/} was removed during the run: the training was stopped" "$work/gone.out" \
  || fail "no error naming the removed folder: $(cat "$work/gone.out")"
[ ! -e "$dg" ] || [ -s "$dg/config.yml" ] || fail "no config.yml again: $(ls -R "$dg")"
[ ! -e "$dg" ] || [ -s "$dg/master/0/mixture.yml" ] || fail "a folder made again without results: $(ls -R "$dg")"
fi

if part determinism; then
# 2. Deterministic runs are reproducible.
"$LPZ" train -f "$CFG" --set general.output_dir="$work/b" --deterministic -q > /dev/null
"$LPZ" train -f "$CFG" --set general.output_dir="$work/c" --deterministic -q > /dev/null
db=$(run_dir "$work/b"); dc=$(run_dir "$work/c")
cmp "$db/metrics.csv" "$dc/metrics.csv" || fail "deterministic runs differ in metrics.csv"
for f in "$db"/master/*/*.safetensors; do
  cmp "$f" "$dc/${f#$db}" || fail "deterministic runs differ in ${f#$db}"
done

# ... and so is a resumed one: stopped after 2 of 3 iterations (by trainer.n_iterations, or by SIGINT between
# iterations, where a deterministic run stops), then resumed, it ends as the run left uninterrupted, bit for bit
# (the data order began again at epoch 0, and the normal deviate Box-Muller kept for the next draw was lost:
# iteration 3 differed). metrics.csv has no timings (timing.csv has them).
same_run() { # REF RUN WHAT: RUN's metrics.csv and final networks are those of the run REF
  cmp "$1/metrics.csv" "$2/metrics.csv" || fail "$3: metrics.csv differs from the uninterrupted run's"
  for f in "$1"/master/*/*.safetensors; do
    cmp "$f" "$2/${f#$1}" || fail "$3: ${f#$1} differs from the uninterrupted run's"
  done
}
"$LPZ" train -f "$CFG" --set general.output_dir="$work/b2" --deterministic --set trainer.n_iterations=2 -q > /dev/null
db2=$(run_dir "$work/b2")
cp -r "$db2" "$work/b2_old"
"$LPZ" train --resume "$db2" --set trainer.n_iterations=3 -q > "$work/b2r.out" 2>&1 \
  || fail "resume: $(cat "$work/b2r.out")"
same_run "$db" "$db2" "a deterministic run resumed at iteration 2"
# a checkpoint of an earlier lpz (no rng_spare) still resumes (not bit for bit: it lost the deviate)
for c in 0 1 2 3; do python3 "$ST" "$work/b2_old/checkpoints/cell-$c.safetensors" delmeta rng_spare; done
"$LPZ" train --resume "$work/b2_old" --set trainer.n_iterations=3 -q > "$work/b2o.out" 2>&1 \
  || fail "resume of checkpoints without rng_spare: $(cat "$work/b2o.out")"
# Ctrl-C: iterations long enough to stop the run within its 5
"$LPZ" train -f "$CFG" --set general.output_dir="$work/b5" --deterministic --set trainer.n_iterations=5 \
  --set dataloader.n_batches=60 -q > /dev/null
"$LPZ" train -f "$CFG" --set general.output_dir="$work/b5s" --deterministic --set trainer.n_iterations=5 \
  --set dataloader.n_batches=60 -q > "$work/b5s.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  d5=$(ls -d "$work"/b5s/lipizzaner_gan/*/ 2>/dev/null | head -n 1 || true)
  if [ -n "$d5" ] && [ -f "$d5/metrics.csv" ] && [ "$(wc -l < "$d5/metrics.csv")" -ge 5 ]; then break; fi
  sleep 0.05
done
kill -INT $pid
wait $pid || true
[ "$(wc -l < "$d5/metrics.csv")" -lt 21 ] || fail "the deterministic run was not stopped before its end"
"$LPZ" train --resume "$d5" -q > "$work/b5r.out" 2>&1 || fail "resume after SIGINT: $(cat "$work/b5r.out")"
same_run "$(run_dir "$work/b5")" "$d5" "a deterministic run stopped by SIGINT and resumed"

# A deterministic run whose cells' checkpoints are at different iterations
# (killed while its cells wrote them) is refused: its cells move in step,
# and the first to finish left the others waiting forever. Without
# determinism each cell continues from its own checkpoint.
rm -rf "$work/steps"
cp -r "$db" "$work/steps"
python3 "$ST" "$work/steps/checkpoints/cell-1.safetensors" meta iteration 1
set +e
timeout 120 "$LPZ" train --resume "$work/steps" -q --set trainer.n_iterations=4 > "$work/steps.out" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || fail "deterministic resume from uneven checkpoints: exit $status: $(cat "$work/steps.out")"
grep -q "are at iterations 3 and 1; a deterministic run moves its cells in step" "$work/steps.out" \
  || fail "uneven checkpoints: $(cat "$work/steps.out")"
timeout 300 "$LPZ" train --resume "$work/steps" -q --set trainer.n_iterations=4 --set general.deterministic=false \
  > "$work/steps2.out" 2>&1 || fail "resume of uneven checkpoints without determinism: $(cat "$work/steps2.out")"
# Cell 1's rows of iterations 2 and 3 (past its checkpoint, now 1) are trained again: they replace the old ones
# (metrics.csv and timing.csv had both, with different values).
once() { # FILE ROWS: FILE has ROWS rows, one per iteration and cell
  local rows uniq
  rows=$(tail -n +2 "$1" | wc -l)
  uniq=$(tail -n +2 "$1" | cut -d, -f1,2 | sort -u | wc -l)
  [ "$rows" -eq "$2" ] && [ "$uniq" -eq "$2" ] || fail "$1: $rows rows, $uniq (iteration, cell) pairs, expected $2"
}
once "$work/steps/metrics.csv" 16
once "$work/steps/timing.csv" 16
# A missing checkpoint: that cell starts from the beginning, as troubleshooting.md says and a distributed run does
# (the resume was refused), its rows trained again.
rm -rf "$work/nockpt"
cp -r "$db" "$work/nockpt"
rm "$work/nockpt/checkpoints/cell-2.safetensors"
timeout 300 "$LPZ" train --resume "$work/nockpt" --set trainer.n_iterations=4 --set general.deterministic=false \
  > "$work/nockpt.out" 2>&1 || fail "resume without cell 2's checkpoint: $(cat "$work/nockpt.out")"
grep -q "warning: no checkpoint for cell 2 (.*cell-2.safetensors): cell 2 starts from the beginning" \
  "$work/nockpt.out" || fail "no warning of the missing checkpoint: $(cat "$work/nockpt.out")"
once "$work/nockpt/metrics.csv" 16
grep -q "metrics.csv: 3 rows of iterations past the checkpoints removed: they are trained again" "$work/nockpt.out" \
  || fail "the redone rows were not said: $(cat "$work/nockpt.out")"
[ -s "$work/nockpt/checkpoints/cell-2.safetensors" ] || fail "cell 2 wrote no checkpoint"
# ... but with --deterministic the cells move in step: refused, naming the cell without one
rm -rf "$work/nockpt_det"
cp -r "$db" "$work/nockpt_det"
rm "$work/nockpt_det/checkpoints/cell-2.safetensors"
set +e
timeout 120 "$LPZ" train --resume "$work/nockpt_det" -q --set trainer.n_iterations=4 > "$work/nockpt_det.out" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "cell 2 has no checkpoint, and the others have theirs; a deterministic run moves its \
cells in step" "$work/nockpt_det.out" || fail "deterministic, no checkpoint of cell 2: $(cat "$work/nockpt_det.out")"
# No checkpoint at all is not a resume (it would retrain from scratch and drop every row): refused, as a distributed
# master refuses it, and the folder is left as it was
rm -rf "$work/nockpts"
cp -r "$db" "$work/nockpts"
rm "$work"/nockpts/checkpoints/cell-*.safetensors
cp "$work/nockpts/metrics.csv" "$work/nockpts.csv"
set +e
timeout 120 "$LPZ" train --resume "$work/nockpts" -q --set trainer.n_iterations=4 --set general.deterministic=false \
  > "$work/nockpts.out" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] && grep -q "cannot resume .*nockpts: no checkpoint of any of the 4 cells in" "$work/nockpts.out" \
  || fail "a resume without any checkpoint: exit $status: $(cat "$work/nockpts.out")"
cmp -s "$work/nockpts.csv" "$work/nockpts/metrics.csv" || fail "a refused resume changed metrics.csv"
fi

if part resume; then
# 3. SIGINT, then --resume to the end.
"$LPZ" train -f "$CFG" --set general.output_dir="$work/s" --set trainer.n_iterations=40 -q > "$work/s.out" 2>&1 &
pid=$!
ds=""
for _ in $(seq 1 600); do
  ds=$(ls -d "$work"/s/lipizzaner_gan/*/ 2>/dev/null | head -n 1 || true)
  if [ -n "$ds" ] && [ -f "$ds/metrics.csv" ] && [ "$(wc -l < "$ds/metrics.csv")" -ge 5 ]; then break; fi
  sleep 0.1
done
# A --resume of the folder while its run goes on is refused, naming the process, and writes nothing (both appended
# rows and overwrote the checkpoints); the lock file goes when the run ends.
cfg_before=$(stat -c %y "$ds/config.yml")
if "$LPZ" train --resume "$ds" -q > "$work/busy.out" 2>&1; then fail "a resume of a running run was not refused"; fi
grep -q "is in use: another lpz (process $pid) trains in it" "$work/busy.out" \
  || fail "busy resume: $(cat "$work/busy.out")"
[ "$(head -n 1 "$ds/.lpz-lock")" = "$pid" ] || fail ".lpz-lock does not hold the run's pid: $(cat "$ds/.lpz-lock")"
# (a resume rewrites config.yml before it trains; the running run does not touch it after its start)
[ "$(stat -c %y "$ds/config.yml")" = "$cfg_before" ] || fail "the refused resume rewrote config.yml"
kill -INT $pid
set +e
wait $pid
status=$?
set -e
[ $status -eq 130 ] || fail "an interrupted run should exit 130, got $status"
[ ! -e "$ds/.lpz-lock" ] || fail "the run left its lock file"
grep -q "^stopped" "$work/s.out" || fail "the summary of an interrupted run should say stopped"
done_rows=$(($(wc -l < "$ds/metrics.csv") - 1))
[ "$done_rows" -lt 160 ] || fail "the run was not interrupted"
# the summary's best cell is that of the cells' last rows (a stop within an iteration left the fitness of that
# iteration's start in the population: another cell and fitness than metrics.csv and the report)
best_of_rows() {
  awk -F, 'NR > 1 {f[$2] = $5} END {b = -1; for (c in f) if (b < 0 || f[c] + 0 < f[b] + 0) b = c;
    printf "best cell: %d (generator fitness %.4f;", b, f[b]}' "$1/metrics.csv"
}
want=$(best_of_rows "$ds")
grep -qF "$want" "$work/s.out" || fail "stopped run: expected '$want' in the summary: $(grep 'best cell' "$work/s.out")"
# the same for a stop within an iteration's batches, surely: iterations of 300 batches, the stop after the first
"$LPZ" train -f "$CFG" --grid 1 --set trainer.params.tournament_size=1 --set dataloader.n_batches=300 -q \
  --set trainer.n_iterations=5 --set general.output_dir="$work/s1" > "$work/s1.out" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  d1=$(ls -d "$work"/s1/lipizzaner_gan/*/ 2>/dev/null | head -n 1 || true)
  if [ -n "$d1" ] && [ -f "$d1/metrics.csv" ] && [ "$(wc -l < "$d1/metrics.csv")" -ge 2 ]; then break; fi
  sleep 0.05
done
sleep 0.2
kill -INT $pid
wait $pid || true
[ "$(wc -l < "$d1/metrics.csv")" -eq 2 ] || fail "the stop should have come within the second iteration"
want=$(best_of_rows "$d1")
grep -qF "$want" "$work/s1.out" || fail "stop within an iteration: expected '$want': $(grep 'best cell' "$work/s1.out")"
# its resume logs the iterations it trains, not the one the checkpoint holds ("iteration 1/2 done" came at the
# progress log's first look, 0.2 s in, while the second iteration trained for a second or more)
"$LPZ" train --resume "$d1" --set trainer.n_iterations=2 > "$work/s1r.out" 2>&1 || fail "resume: $(cat "$work/s1r.out")"
if grep -q "iteration 1/2 done" "$work/s1r.out"; then fail "the resume logged the checkpoint's iteration as done"; fi
# the report says stopped, not finished (a Ctrl-C writes the final mixtures too: it said "Finished after 5 iterations")
grep -q 'data-state="stopped"' "$ds/report.html" && grep -q "Stopped after [0-9]* of 40 iterations" "$ds/report.html" \
  || fail "report.html of a stopped run: $(grep -o '<p class="status[^<]*' "$ds/report.html")"
for c in 0 1 2 3; do [ -s "$ds/checkpoints/cell-$c.safetensors" ] || fail "no final checkpoint of cell $c"; done
"$LPZ" train --resume "$ds" -q > "$work/r.out"
rows=$(($(wc -l < "$ds/metrics.csv") - 1))
[ "$rows" -eq 160 ] || fail "after --resume metrics.csv has $rows rows, expected 40 iterations x 4 cells"
for c in 0 1 2 3; do
  n=$(awk -F, -v c=$c 'NR > 1 && $2 == c' "$ds/metrics.csv" | wc -l)
  [ "$n" -eq 40 ] || fail "cell $c has $n rows after resuming"
done
# 4. Resuming with fewer iterations than done is refused, and leaves the
#    run (metrics.csv, config.yml) as it was; extending it still works.
cp "$ds/metrics.csv" "$work/m40.csv"
cp "$ds/config.yml" "$work/c40.yml"
set +e
"$LPZ" train --resume "$ds" -q --set trainer.n_iterations=10 > "$work/r10.out" 2>&1
status=$?
set -e
[ "$status" -eq 1 ] || fail "--resume with fewer iterations should exit 1, got $status"
grep -q "already has 40 iterations" "$work/r10.out" || fail "refusal: $(cat "$work/r10.out")"
cmp -s "$work/m40.csv" "$ds/metrics.csv" || fail "a refused resume changed metrics.csv"
cmp -s "$work/c40.yml" "$ds/config.yml" || fail "a refused resume changed config.yml"
# another network (--set network.hidden) is refused naming the sizes and what to do (it said "wrong type or size")
cp "$ds/config.yml" "$work/c40b.yml"
"$LPZ" train --resume "$ds" -q --set trainer.n_iterations=41 --set network.hidden=32 > "$work/rh.out" 2>&1 \
  && fail "a resume with another network.hidden should be refused"
grep -q "tensor 'generator.0.params' holds [0-9]* values, but this configuration's network has [0-9]* (the \
checkpoints were written by another network: resume with the network options the run trained with" "$work/rh.out" \
  || fail "resume with another network: $(cat "$work/rh.out")"
cmp -s "$work/c40b.yml" "$ds/config.yml" || fail "a refused resume changed config.yml"
"$LPZ" train --resume "$ds" -q --set trainer.n_iterations=41 > "$work/r41.out"
[ "$(cut -d, -f1,2 "$ds/metrics.csv" | tail -n +2 | sort -u | wc -l)" -eq 164 ] || fail "extending to 41 iterations"
# the rewritten config.yml keeps where each value came from first (the comments all became "<run>/config.yml:L:C")
grep -q "^  n_iterations: 41  # --set$" "$ds/config.yml" || fail "resume: $(grep n_iterations "$ds/config.yml")"
grep -q "^  output_dir: .*  # --set$" "$ds/config.yml" || fail "resume: $(grep output_dir "$ds/config.yml")"
grep -q "  # $ds" "$ds/config.yml" \
  && fail "resume: comments point at the run's own config.yml: $(grep "# $ds" "$ds/config.yml")"
diff <(grep -v "n_iterations\|^# lpz" "$work/c40b.yml") <(grep -v "n_iterations\|^# lpz" "$ds/config.yml") \
  || fail "a resume changed other lines of config.yml"

# 5. Bad checkpoints and a resume that fails leave the run as it was: the
#    error names the file and value, nothing is trained, config.yml and
#    metrics.csv are unchanged (a failed resume used to rewrite config.yml
#    with its --set values, so every later plain --resume failed too).
expect_refused() { # NAME MESSAGE ARGS...: --resume of a copy of $ds with ARGS exits 1 naming MESSAGE
  local name=$1 msg=$2
  shift 2
  set +e
  "$LPZ" train --resume "$work/$name" -q --set trainer.n_iterations=42 "$@" > "$work/$name.out" 2>&1
  status=$?
  set -e
  [ "$status" -eq 1 ] || fail "$name: --resume should exit 1, got $status: $(cat "$work/$name.out")"
  grep -q -- "$msg" "$work/$name.out" || fail "$name: expected '$msg' in: $(cat "$work/$name.out")"
  cmp -s "$ds/metrics.csv" "$work/$name/metrics.csv" || fail "$name: a failed resume changed metrics.csv"
  cmp -s "$ds/config.yml" "$work/$name/config.yml" || fail "$name: a failed resume changed config.yml"
}
fresh_copy() { rm -rf "$work/$1"; cp -r "$ds" "$work/$1"; }
fresh_copy neg_iteration
python3 "$ST" "$work/neg_iteration/checkpoints/cell-1.safetensors" meta iteration -1
expect_refused neg_iteration "value '-1' of 'iteration' is not an integer in"
fresh_copy big_iteration
python3 "$ST" "$work/big_iteration/checkpoints/cell-2.safetensors" meta iteration 2147483648
expect_refused big_iteration "value '2147483648' of 'iteration' is not an integer in"
fresh_copy half_iteration
python3 "$ST" "$work/half_iteration/checkpoints/cell-0.safetensors" meta iteration 1.5
expect_refused half_iteration "value '1.5' of 'iteration' is not an integer in"
fresh_copy other_cell
python3 "$ST" "$work/other_cell/checkpoints/cell-0.safetensors" meta cell 3
expect_refused other_cell "holds the state of cell 3, not of cell 0"
fresh_copy nan_param
python3 "$ST" "$work/nan_param/checkpoints/cell-3.safetensors" float generator.0.params 5 nan
expect_refused nan_param "tensor 'generator.0.params' holds nan at element 5"
fresh_copy neg_moment
python3 "$ST" "$work/neg_moment/checkpoints/cell-3.safetensors" float discriminator.0.adam_v 0 -1
expect_refused neg_moment "tensor 'discriminator.0.adam_v' holds -1 at element 0"
fresh_copy bad_mixture
python3 "$ST" "$work/bad_mixture/checkpoints/cell-1.safetensors" meta mixture_weights "0.5,0.5"
expect_refused bad_mixture "of 'mixture_weights' is not 3 weights"
fresh_copy fifo_checkpoint
rm "$work/fifo_checkpoint/checkpoints/cell-2.safetensors"
mkfifo "$work/fifo_checkpoint/checkpoints/cell-2.safetensors"
expect_refused fifo_checkpoint "the checkpoint of cell 2 is not a regular file (a FIFO)"
fresh_copy zero_mixture
python3 "$ST" "$work/zero_mixture/checkpoints/cell-1.safetensors" meta mixture_weights "0,0,0"
expect_refused zero_mixture "of 'mixture_weights': every weight is 0"
fresh_copy bad_source
python3 "$ST" "$work/bad_source/checkpoints/cell-1.safetensors" meta discriminator.0.source_cell 99
expect_refused bad_source "value '99' of 'discriminator.0.source_cell' is not an integer in \\[0, 3\\]"
fresh_copy bad_lr
python3 "$ST" "$work/bad_lr/checkpoints/cell-1.safetensors" meta generator.0.lr inf
expect_refused bad_lr "is not a learning rate >= 0"
# The random state: strtoull took "0x", signs and garbage (as 0), and an
# all-zero state gave zeros only.
fresh_copy hex_rng
python3 "$ST" "$work/hex_rng/checkpoints/cell-2.safetensors" meta rng "0x$(printf 'f%.0s' $(seq 62))"
expect_refused hex_rng "of 'rng' is not 64 hex digits"
fresh_copy zero_rng
python3 "$ST" "$work/zero_rng/checkpoints/cell-2.safetensors" meta rng "$(printf '0%.0s' $(seq 64))"
expect_refused zero_rng "of 'rng' is not a random state (it is all zero)"
fresh_copy bad_spare
python3 "$ST" "$work/bad_spare/checkpoints/cell-2.safetensors" meta rng_spare "$(printf 'f%.0s' $(seq 16))"
expect_refused bad_spare "of 'rng_spare' is not 'none' or 16 hex digits"
fresh_copy bad_data
expect_refused bad_data "dataset" --set dataloader.path="$work/no-such-folder"
# Data whose samples have another shape (2 values, not 1x28x28): refused before anything else is said about the
# data, naming both shapes, and the folder is left as it was (it warned "master/0 has no units.json (a run of an
# earlier lpz)" of a run on images, which never write one, then failed on a tensor's size, blaming the network
# options)
python3 - "$work/ring.npy" <<'PY'
import math, struct, sys
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (200, 2), }"
head += " " * (-(10 + len(head) + 1) % 64) + "\n"
rows = b"".join(struct.pack("<2f", 0.9 * math.cos(i / 10), 0.9 * math.sin(i / 10)) for i in range(200))
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + rows)
PY
fresh_copy ring
expect_refused ring "its networks were trained on samples of shape 1x28x28 (.*generator-0.safetensors), the \
configured data (dataloader npy) has samples of shape 2" --set dataloader.dataset_name=npy \
  --set dataloader.path="$work/ring.npy"
! grep -q "units.json\|network options" "$work/ring.out" || fail "data of another shape: $(cat "$work/ring.out")"
diff -r "$ds" "$work/ring" > /dev/null || fail "a resume refused for the data's shape changed the run folder"
# ... and images of the same shape from an npy file: trained on, the change said, but not as "a run of an earlier
# lpz" (a run on images writes no units.json: the npy dataloader maps to original units, Fashion-MNIST does not)
python3 - "$work/img.npy" <<'PY'
import struct, sys
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (200, 1, 28, 28), }"
head += " " * (-(10 + len(head) + 1) % 64) + "\n"
data = struct.pack("<156800f", *[((i * 7919) % 200) / 100 - 1 for i in range(156800)])
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + data)
PY
fresh_copy img
"$LPZ" train --resume "$work/img" -q --set trainer.n_iterations=42 --set master.calculate_score=false \
  --set dataloader.dataset_name=npy --set dataloader.path="$work/img.npy" > "$work/img.out" 2>&1 \
  || fail "resume on images from an npy file: $(cat "$work/img.out")"
grep -q "dataloader.dataset_name fashion_mnist -> npy" "$work/img.out" || fail "the change of data was not said"
! grep -q "earlier lpz" "$work/img.out" || fail "a run on images taken for an earlier lpz's: $(cat "$work/img.out")"
# an Adam step count of INT64_MAX was taken, and the next step overflowed (UBSan abort, NaN weights)
fresh_copy big_adam
python3 "$ST" "$work/big_adam/checkpoints/cell-0.safetensors" meta generator.0.adam_step 9223372036854775807
expect_refused big_adam "value '9223372036854775807' of 'generator.0.adam_step' is not an integer in"
# expect_refused_here NAME MESSAGE: --resume of $work/NAME (prepared by the caller) exits 1 saying MESSAGE, within
# a minute (a FIFO was waited on for good)
expect_refused_here() { # NAME MESSAGE
  set +e
  timeout 60 "$LPZ" train --resume "$work/$1" -q --set trainer.n_iterations=42 > "$work/$1.out" 2>&1
  status=$?
  set -e
  [ "$status" -eq 1 ] && grep -qF -- "$2" "$work/$1.out" || fail "$1: exit $status: $(cat "$work/$1.out")"
}
# metrics.csv lines that are not lpz's: refused naming the line (an iteration of 10^20 read as LONG_MAX asked for
# n_iterations >= 9223372036854775807; a junk header or a negative iteration was taken), the file unchanged; a
# number with letters after it is not a whole number either (it said "no ',' after its iteration '99x'")
for case in "huge:99999999999999999999,0,1,1,1,1,0.1,0.1,0.5,0:1.0" "neg:-5,0,1,1,1,1,0.1,0.1,0.5,0:1.0" \
            "junk:hello" "tail:99x,0,1"; do
  name=${case%%:*}
  fresh_copy "m_$name"
  printf '%s\n' "${case#*:}" >> "$work/m_$name/metrics.csv"
  cp "$work/m_$name/metrics.csv" "$work/m_$name.csv"
  field=${case#*:}
  want="metrics.csv:$(wc -l < "$work/m_$name.csv"): not a row of lpz: its iteration '${field%%,*}' is not a whole"
  set +e
  "$LPZ" train --resume "$work/m_$name" -q --set trainer.n_iterations=42 > "$work/m_$name.out" 2>&1
  status=$?
  set -e
  [ "$status" -eq 1 ] || fail "metrics.csv $name: exit $status: $(cat "$work/m_$name.out")"
  grep -qF -- "$want" "$work/m_$name.out" || fail "metrics.csv $name: expected '$want' in $(cat "$work/m_$name.out")"
  cmp -s "$work/m_$name.csv" "$work/m_$name/metrics.csv" || fail "metrics.csv $name: a refused resume changed it"
done
# a row without a comma, and a last line without its end (the resume's first row would be glued to it); a blank
# line, also with CR LF, is taken
fresh_copy m_nocomma
printf '\r\n\n2\n' >> "$work/m_nocomma/metrics.csv"
expect_refused_here m_nocomma "not a row of lpz: no ',' after its iteration '2'"
fresh_copy m_partial
printf '42,0,1' >> "$work/m_partial/metrics.csv"
expect_refused_here m_partial "the last line is not complete (it has no end of line)"
fresh_copy m_folder
rm "$work/m_folder/metrics.csv"
mkdir "$work/m_folder/metrics.csv"
expect_refused_here m_folder "metrics.csv: cannot write to it: not a regular file (a folder)"
# another trainer.name on resume: the networks load, and the change of objective is said (it was silent)
fresh_copy m_wgan
"$LPZ" train --resume "$work/m_wgan" -q --set trainer.n_iterations=42 --set trainer.name=lipizzaner_wgan \
  > "$work/m_wgan.out" 2>&1 || fail "resume as lipizzaner_wgan: $(cat "$work/m_wgan.out")"
grep -q "the checkpoints were trained by lipizzaner_gan and this run goes on as lipizzaner_wgan" "$work/m_wgan.out" \
  || fail "no word of the change of trainer: $(cat "$work/m_wgan.out")"
# metrics.csv a FIFO (or a link): refused at once, not waited on for good
fresh_copy fifo_metrics
rm "$work/fifo_metrics/metrics.csv"
mkfifo "$work/fifo_metrics/metrics.csv"
expect_refused_here fifo_metrics "metrics.csv: cannot write to it: not a regular file (a FIFO)"
[ -p "$work/fifo_metrics/metrics.csv" ] && cmp -s "$ds/config.yml" "$work/fifo_metrics/config.yml" \
  || fail "a refused resume changed the run folder"
fi
echo "e2e train ($PART): all checks passed"
