#!/usr/bin/env bash
# Distributed end to end: four clients and a master on loopback train the
# tiny 2x2 grid and the master's folder has the local mode's layout; the
# same four clients, not restarted, then run a 1x1 experiment, and a 3x3
# one with five more clients; Ctrl-C on a master stops every cell cleanly,
# and --resume continues that stopped run from its checkpoints; the master's
# final scores (master.calculate_score), a Ctrl-C during them and a --resume
# that only scores.
. "$(dirname "$0")/common.sh"
export LPZ_SECRET="run-test-secret"
for i in 0 1 2 3; do start_client $i; done
for i in 0 1 2 3; do wait_listening $i; done

# 1. 2x2 on four clients.
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/a" --set "$(nodes 0 3)" \
  > "$work/a.out" 2> "$work/master-a.log" || fail "2x2 master failed: $(cat "$work/a.out")"
d=$(run_dir "$work/a")
[ -n "$d" ] || fail "no result folder"
for f in config.yml metrics.csv timing.csv; do [ -s "$d/$f" ] || fail "missing $f"; done
[ "$(wc -l < "$d/metrics.csv")" -eq 13 ] || fail "metrics.csv should have 1 + 3x4 rows: $(wc -l < "$d/metrics.csv")"
# Rows in cell order per iteration, as the local mode writes them.
[ "$(cut -d, -f1,2 "$d/metrics.csv" | tail -n +2 | tr '\n' ' ')" = "1,0 1,1 1,2 1,3 2,0 2,1 2,2 2,3 3,0 3,1 3,2 3,3 " ] \
  || fail "metrics rows out of order"
check_cells "$d" 0 1 2 3
for c in 0 1 2 3; do
  n=$(ls "$d/master/$c"/generator-*.safetensors | wc -l)
  [ "$n" -eq 3 ] || fail "cell $c has $n generators, expected its neighbourhood's 3"
  [ -s "$d/samples/cell-$c/iteration-0003.png" ] || fail "no samples of cell $c"
  [ -s "$d/checkpoints/cell-$c.safetensors" ] || fail "no checkpoint of cell $c at the master"
  # the generators of the cell's models (dropout masks) travel with it: a cell resumed or moved draws on from there
  grep -q -a '"model_rng.neighbour_discriminator"' "$d/checkpoints/cell-$c.safetensors" \
    || fail "the master's checkpoint of cell $c lacks its models' generators"
  awk -F': ' '/safetensors/ {s += $2} END {exit !(s > 0.999 && s < 1.001)}' "$d/master/$c/mixture.yml" \
    || fail "weights of cell $c do not sum to 1"
done
grep -q "^trained 4 cells" "$work/a.out" || fail "summary: $(cat "$work/a.out")"
grep -q "^best cell: " "$work/a.out" || fail "no best cell in the summary"
# Fitness values are finite numbers.
awk -F, 'NR > 1 && ($5 != $5 + 0 || $5 == "nan") {exit 1}' "$d/metrics.csv" || fail "non-numeric fitness"
# Every mixture holds its neighbours' final networks, those their own cells saved, with its own cell number (the
# clients' copies were those of the start of the last iteration).
/usr/bin/python3 - "$d" <<'EOF' || fail "a mixture holds a neighbour's network other than the neighbour's final one"
import json, struct, sys
def read(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    t = {k: b[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in h.items() if k != "__metadata__"}
    return t, h["__metadata__"]
d = sys.argv[1]
for c in range(4):
    for nb in range(4):
        for role in ("generator", "discriminator"):
            try:
                mine, meta = read(f"{d}/master/{c}/{role}-{nb}.safetensors")
            except FileNotFoundError:
                continue
            own, own_meta = read(f"{d}/master/{nb}/{role}-{nb}.safetensors")
            assert mine == own, (c, nb, role)
            assert meta["cell"] == str(c) and meta["neighbour_cell"] == str(nb), (c, nb, meta)
            assert meta["fitness"] == own_meta["fitness"], (c, nb, meta, own_meta)
EOF

# 2. The same clients (back to idle) run a 1x1 experiment: three are spares.
#    Its timeouts come from the configuration (no LPZ_DIST_* variables).
env -u LPZ_DIST_HEARTBEAT_TIMEOUT_MS -u LPZ_DIST_FETCH_TIMEOUT_MS timeout 60 "$LPZ" train --distributed --master \
  -f "$CFG" --set general.output_dir="$work/b" --set "$(nodes 0 3)" \
  --set general.distribution.heartbeat_timeout_ms=7000 --set general.distribution.fetch_timeout_ms=2500 \
  --set general.grid_size=1 --set trainer.params.tournament_size=1 > "$work/b.out" 2> "$work/master-b.log" \
  || fail "1x1 master failed on the same clients"
grep -q "heartbeat timeout 7000 ms, neighbour fetch timeout 2500 ms" "$work/master-b.log" \
  || fail "the configured timeouts were not used: $(grep 'idle client' "$work/master-b.log")"
d=$(run_dir "$work/b")
check_cells "$d" 0
grep -q "^trained 1 cell on 1 client in " "$work/b.out" || fail "1x1 summary: $(cat "$work/b.out")"
grep -q "4 idle clients for a 1x1 grid (1 cell); " "$work/master-b.log" \
  || fail "1x1 master: $(grep 'idle client' "$work/master-b.log")"
[ "$(wc -l < "$d/metrics.csv")" -eq 4 ] || fail "1x1 metrics.csv should have 1 + 3 rows"

# 3. 3x3 on the four plus five new clients.
for i in 4 5 6 7 8; do start_client $i; done
for i in 4 5 6 7 8; do wait_listening $i; done
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/c" --set "$(nodes 0 8)" \
  --set general.grid_size=3 --set trainer.n_iterations=2 --set general.checkpoint_period=0 > "$work/c.out" 2> "$work/master-c.log" \
  || fail "3x3 master failed"
d=$(run_dir "$work/c")
check_cells "$d" 0 1 2 3 4 5 6 7 8
[ "$(wc -l < "$d/metrics.csv")" -eq 19 ] || fail "3x3 metrics.csv should have 1 + 2x9 rows"
# Client 0 ran all three experiments, 1-3 were spares of the 1x1 one.
[ "$(grep -c "done; idle on port" "$work/c0.log")" -eq 3 ] || fail "client 0 did not finish three experiments"
for i in 1 2 3; do
  [ "$(grep -c "done; idle on port" "$work/c$i.log")" -eq 2 ] || fail "client $i did not finish two experiments"
done

# 4. Ctrl-C on the master: every cell stops after its batch, results are
#    collected, exit status 130, and the clients are idle again.
# (timeout passes the SIGINT on to the master and then to its process group
# again: the master must take the two as one Ctrl-C, not as "abort")
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/s" \
  --set "$(nodes 0 3)" --set trainer.n_iterations=200 > "$work/s.out" 2> "$work/master-s.log" &
m=$!
PIDS+=($m)
for _ in $(seq 1 600); do
  # (logged when the slowest cell gets there; a number may be skipped)
  grep -q "iteration \([2-9]\|[1-9][0-9]\+\) of 200 done" "$work/master-s.log" && break
  sleep 0.05
done
kill -INT $m
wait $m
[ $? -eq 130 ] || fail "a master stopped with Ctrl-C should exit with 130"
grep -q "^stopped 4 cells" "$work/s.out" || fail "Ctrl-C summary: $(cat "$work/s.out")"
d=$(run_dir "$work/s")
check_cells "$d" 0 1 2 3
for i in 0 1 2 3; do
  st=$("$PROBE" "tcp://127.0.0.1:$((BASE + i))" hello "$LPZ_SECRET")
  grep -q "CHALLENGE state 0" <<< "$st" || fail "client $i not idle after Ctrl-C: $st"
done
# 5. --resume of the stopped run on the same clients: every cell continues
#    from its checkpoint to the new n_iterations; the rows of the first
#    iterations are kept as they were; fewer iterations than done is refused.
head -n 9 "$d/metrics.csv" > "$work/s-first.csv"
cp "$d/metrics.csv" "$work/s-all.csv"
done_it=$(tail -n 1 "$d/metrics.csv" | cut -d, -f1)
total=$((done_it + 2))
timeout 60 "$LPZ" train --distributed --master --resume "$d" --set trainer.n_iterations=1 --set "$(nodes 0 3)" \
  > "$work/r1.out" 2> "$work/master-r1.log" && fail "resuming with fewer iterations than done should fail"
grep -q "the run already has" "$work/master-r1.log" || fail "refusal: $(cat "$work/master-r1.log")"
cmp -s "$work/s-all.csv" "$d/metrics.csv" || fail "a refused resume changed metrics.csv"
#    Data of another sample shape (2 values, not 1x28x28) is refused naming both shapes, as a local resume does (each
#    cell failed on its checkpoint, blaming the network options).
python3 - "$work/ring.npy" <<'PY'
import math, struct, sys
head = "{'descr': '<f4', 'fortran_order': False, 'shape': (200, 2), }"
head += " " * (-(10 + len(head) + 1) % 64) + "\n"
rows = b"".join(struct.pack("<2f", 0.9 * math.cos(i / 10), 0.9 * math.sin(i / 10)) for i in range(200))
open(sys.argv[1], "wb").write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(head)) + head.encode() + rows)
PY
timeout 60 "$LPZ" train --distributed --master --resume "$d" --set trainer.n_iterations=$total --set "$(nodes 0 3)" \
  --set dataloader.dataset_name=npy --set dataloader.path="$work/ring.npy" > "$work/rs.out" 2> "$work/master-rs.log" \
  && fail "resuming on data of another shape should fail"
grep -q "cannot resume .*: its networks were trained on samples of shape \[1x28x28\] (.*/generator-0.safetensors), \
the data of cell [0-3]'s client (tcp://127.0.0.1:[0-9]*) have samples of shape \[2\]" "$work/master-rs.log" \
  || fail "resume on other data: $(cat "$work/master-rs.log")"
cmp -s "$work/s-all.csv" "$d/metrics.csv" || fail "a resume refused for its data changed metrics.csv"
#    A resume that fails on a bad checkpoint (an iteration of -1) names it
#    and keeps the run's rows; when no cell sent a row before the failure
#    (the other cells start too and may finish an iteration first: their rows
#    are kept, as after any failure), config.yml is as it was.
cp "$d/config.yml" "$work/s-config.yml"
cp "$d/checkpoints/cell-2.safetensors" "$work/cell-2.safetensors"
python3 "$LPZ_SOURCE_DIR/tests/runtime/st_edit.py" "$d/checkpoints/cell-2.safetensors" meta iteration -1
timeout 60 "$LPZ" train --distributed --master --resume "$d" --set trainer.n_iterations=$total --set "$(nodes 0 3)" \
  > "$work/rb.out" 2> "$work/master-rb.log" && fail "resuming from a bad checkpoint should fail"
grep -q "value '-1' of 'iteration' is not an integer" "$work/master-rb.log" \
  || fail "bad checkpoint: $(cat "$work/master-rb.log")"
grep -Fxvf "$d/metrics.csv" "$work/s-all.csv" > "$work/lost.csv" || true
[ ! -s "$work/lost.csv" ] || fail "a failed resume lost rows of metrics.csv: $(cat "$work/lost.csv")"
if cmp -s "$work/s-all.csv" "$d/metrics.csv"; then
  cmp -s "$work/s-config.yml" "$d/config.yml" || fail "a resume that failed before any row changed config.yml"
fi
cp "$work/cell-2.safetensors" "$d/checkpoints/cell-2.safetensors"
timeout 120 "$LPZ" train --distributed --master --resume "$d" --set trainer.n_iterations=$total --set "$(nodes 0 3)" \
  > "$work/r.out" 2> "$work/master-r.log" || fail "resumed master failed: $(cat "$work/r.out")"
[ "$(grep -c "resumed from its latest checkpoint" "$work/master-r.log")" -eq 4 ] \
  || fail "not every cell resumed from its checkpoint"
grep -q "^trained 4 cells" "$work/r.out" || fail "resumed summary: $(cat "$work/r.out")"
[ "$(wc -l < "$d/metrics.csv")" -eq $((1 + 4 * total)) ] \
  || fail "resumed metrics.csv should have 1 + ${total}x4 rows: $(wc -l < "$d/metrics.csv")"
[ "$(cut -d, -f1,2 "$d/metrics.csv" | tail -n +2 | sort -u | wc -l)" -eq $((4 * total)) ] \
  || fail "resumed metrics.csv lacks rows"
cmp -s "$work/s-first.csv" <(head -n 9 "$d/metrics.csv") || fail "the first iterations' rows changed on resume"
check_cells "$d" 0 1 2 3
d5=$d

# 5b. The run folder removed during the run: the master makes it again with config.yml and every row it has (the
#     results went to a folder without config.yml, the rows of the iterations before and the lock).
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/gone" --set "$(nodes 0 0)" \
  --set general.grid_size=1 --set trainer.params.tournament_size=1 --set trainer.n_iterations=30 \
  --set general.checkpoint_period=1 > "$work/gone.out" 2> "$work/master-gone.log" &
m=$!
PIDS+=($m)
dg=""
for _ in $(seq 1 1200); do
  dg=$(run_dir "$work/gone")
  if [ -n "$dg" ] && [ -f "$dg/metrics.csv" ] && [ "$(wc -l < "$dg/metrics.csv")" -ge 3 ]; then break; fi
  sleep 0.05
done
# moved away first (atomic: a file the master wrote meanwhile made rm -rf fail with "Directory not empty"), then gone
mv "$dg" "$work/gone-removed"
rm -rf "$work/gone-removed" 2> /dev/null || true
wait $m || fail "5b) the master failed: $(cat "$work/master-gone.log")"
grep -q "the run folder ${dg%/} was removed during the run: made again" "$work/master-gone.log" \
  || fail "5b) $(cat "$work/master-gone.log")"
[ -s "$dg/config.yml" ] && [ -s "$dg/.lpz-experiment" ] || fail "5b) not made again: $(ls -a "$dg")"
[ "$(cut -d, -f1 "$dg/metrics.csv" | tail -n +2 | tr '\n' ' ')" = "$(seq -s ' ' 1 30) " ] \
  || fail "5b) metrics.csv lacks rows: $(cat "$dg/metrics.csv")"
check_cells "$dg" 0

# 6. master.calculate_score: the master scores the collected mixtures with master.score_sample_size samples and
#    names the best by them (a quick classifier from the score tests' tool: training one takes a minute).
"$LPZ_BUILD_DIR/tests/score_tool" classifier "$work/clf.safetensors" 1
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/f" --set "$(nodes 0 3)" \
  --set trainer.n_iterations=1 --set master.calculate_score=true --set master.score_sample_size=120 \
  --set trainer.params.score.feature_model="$work/clf.safetensors" > "$work/f.out" 2> "$work/master-f.log" \
  || fail "master with final scores failed: $(cat "$work/master-f.log")"
[ "$(grep -c "final mixture FID [0-9.]* (120 samples)" "$work/master-f.log")" -eq 4 ] \
  || fail "expected a final FID per cell: $(cat "$work/master-f.log")"
grep -q "^best cell: [0-3] (final FID [0-9.]* over 120 samples)$" "$work/f.out" || fail "summary: $(cat "$work/f.out")"
# The training's time and the final scoring's, apart (the master's included the scoring, a local run's did not).
grep -q "^trained 4 cells on 4 clients in [0-9.]* s (median " "$work/f.out" || fail "summary: $(cat "$work/f.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (120 samples each)$" "$work/f.out" || fail "summary: $(cat "$work/f.out")"
d=$(run_dir "$work/f")
[ "$(grep -cE "^[0-3],1,120,[0-9.e-]+,classifier-[0-9a-f]{16}-data-[0-9a-f]{16}$" "$d/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d/final_scores.csv")"
# 6b. The training's score on the clients, as a local run's: every row of metrics.csv has one (the clients trained
#     without a scorer before: no score, uniform weights); with score.type inception_score the best cell is named by
#     the highest.
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/f2" --set "$(nodes 0 3)" \
  --set trainer.n_iterations=2 --set trainer.params.score.enabled=true --set trainer.params.score.type=fid \
  --set trainer.params.score.score_sample_size=100 --set trainer.params.score.feature_model="$work/clf.safetensors" \
  > "$work/f2.out" 2> "$work/master-f2.log" || fail "master with the training's FID failed: $(cat "$work/f2.out")"
d=$(run_dir "$work/f2")
[ "$(awk -F, 'NR > 1 && $9 + 0 > 0' "$d/metrics.csv" | wc -l)" -eq 8 ] \
  || fail "metrics.csv's score column: $(cut -d, -f1,2,9 "$d/metrics.csv")"
grep -q "^best cell: [0-3] (FID [0-9.]*, the last iteration's)$" "$work/f2.out" || fail "summary: $(cat "$work/f2.out")"
"$LPZ_BUILD_DIR/tests/score_tool" classifier "$work/clf30.safetensors" 1 30
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/f3" --set "$(nodes 0 3)" \
  --set trainer.n_iterations=1 --set trainer.params.score.enabled=true --set trainer.params.score.type=inception_score \
  --set trainer.params.score.score_sample_size=100 --set trainer.params.score.feature_model="$work/clf30.safetensors" \
  > "$work/f3.out" 2> "$work/master-f3.log" || fail "master with the inception score failed: $(cat "$work/f3.out")"
d=$(run_dir "$work/f3")
top=$(awk -F, 'NR > 1 {print $9}' "$d/metrics.csv" | sort -g | tail -n 1)
cell=$(sed -n "s/^best cell: \([0-3]\) (inception score [0-9.]*, the last iteration's)$/\1/p" "$work/f3.out")
[ -n "$cell" ] && [ "$(awk -F, -v c="$cell" 'NR > 1 && $2 == c {print $9}' "$d/metrics.csv")" = "$top" ] \
  || fail "best cell by the highest inception score: $(cat "$work/f3.out"; cut -d, -f1,2,9 "$d/metrics.csv")"
# 7. Ctrl-C inside a cell's final scoring (50,000 samples): the master stops there, exits 130 and says the training
#    is complete; --resume then only scores, on no client at all (the listed port has none), and a second --resume
#    takes the saved scores.
t0=$(date +%s.%N)
timeout 120 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/g" --set "$(nodes 0 3)" \
  --set trainer.n_iterations=1 --set master.calculate_score=true \
  --set trainer.params.score.feature_model="$work/clf.safetensors" -v > "$work/g.out" 2> "$work/master-g.log" &
m=$!
PIDS+=($m)
for _ in $(seq 1 1200); do
  grep -q "cell 0: scoring the final mixture (50000 samples)" "$work/master-g.log" && break
  sleep 0.05
done
kill -INT $m
wait $m
[ $? -eq 130 ] || fail "a master stopped during the final scoring should exit with 130: $(cat "$work/g.out")"
wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {print b - a}')
grep -q "final mixture FID" "$work/master-g.log" && fail "the cell being scored ran to its end"
grep -q "^lpz: stopping the final scoring; the training is complete (Ctrl-C again to exit at once)$" \
  "$work/master-g.log" || fail "Ctrl-C's message during the final scoring: $(grep "^lpz: " "$work/master-g.log")"
grep -q "^trained 4 cells on 4 clients in " "$work/g.out" || fail "summary: $(cat "$work/g.out")"
d=$(run_dir "$work/g")
grep -q "^final scoring: stopped after [0-9.]* s with 0 of 4 cells scored; the training is complete" "$work/g.out" \
  || fail "summary of a stopped final scoring: $(cat "$work/g.out")"
grep -q "^to score the other 4: lpz train --distributed --master --resume ${d%/}$" "$work/g.out" \
  || fail "no resume hint: $(cat "$work/g.out")"
# The training's time and the final scoring's are apart: together they fit in the master's wall time (the
# training's used to include the scoring's).
trained=$(sed -n 's/^trained 4 cells on 4 clients in \([0-9.]*\) s .*/\1/p' "$work/g.out")
scoring=$(sed -n 's/^final scoring: stopped after \([0-9.]*\) s .*/\1/p' "$work/g.out")
awk -v t="$trained" -v s="$scoring" -v w="$wall" 'BEGIN {exit !(t + s <= w + 0.2)}' \
  || fail "training ($trained s) and final scoring ($scoring s) overlap in a run of $wall s"
timeout 60 "$LPZ" train --distributed --master --resume "$d" --set "$(nodes 9 9)" --set master.score_sample_size=120 \
  > "$work/g2.out" 2> "$work/master-g2.log" || fail "resume of a stopped final scoring: $(cat "$work/master-g2.log")"
grep -q "only the final scoring is left, no client is needed" "$work/master-g2.log" \
  || fail "$(cat "$work/master-g2.log")"
grep -q "^training already complete: 4 cells, 1 iteration$" "$work/g2.out" || fail "summary: $(cat "$work/g2.out")"
grep -q "^final scoring: 4 cells in [0-9.]* s (120 samples each)$" "$work/g2.out" \
  || fail "summary: $(cat "$work/g2.out")"
timeout 60 "$LPZ" train --distributed --master --resume "$d" --set "$(nodes 9 9)" \
  > "$work/g3.out" 2> "$work/master-g3.log" || fail "second resume: $(cat "$work/master-g3.log")"
grep -q "^final scoring: the 4 cells' scores from final_scores.csv (120 samples each; not scored again)$" \
  "$work/g3.out" || fail "summary: $(cat "$work/g3.out")"
[ "$(grep "^best cell: " "$work/g2.out")" = "$(grep "^best cell: " "$work/g3.out")" ] || fail "the best cell changed"
# 8. --resume of the finished run of 5, trained without final scores (no final_scores.csv): complete by its
#    checkpoints and final mixtures, so no client is needed (the listed port has none) and it is not trained
#    again; with master.calculate_score off nothing is done and no file changes, with it on only the scoring is.
(cd "$d5" && find . -type f | sort | xargs md5sum) > "$work/d5.md5"
timeout 60 "$LPZ" train --distributed --master --resume "$d5" --set "$(nodes 9 9)" > "$work/h.out" \
  2> "$work/master-h.log" || fail "resume of a finished run: $(cat "$work/master-h.log")"
grep -q "master.calculate_score is off: nothing to do" "$work/master-h.log" || fail "$(cat "$work/master-h.log")"
grep -q "^training already complete: 4 cells, $total iterations$" "$work/h.out" || fail "summary: $(cat "$work/h.out")"
(cd "$d5" && find . -type f | sort | xargs md5sum) | cmp -s - "$work/d5.md5" \
  || fail "files changed by a resume with nothing to do"
timeout 60 "$LPZ" train --distributed --master --resume "$d5" --set "$(nodes 9 9)" --set master.calculate_score=true \
  --set master.score_sample_size=120 --set trainer.params.score.feature_model="$work/clf.safetensors" \
  > "$work/h2.out" 2> "$work/master-h2.log" || fail "scoring resume of a finished run: $(cat "$work/master-h2.log")"
grep -q "iterations, checkpoints and final mixtures): only the final scoring is left, no client is needed" \
  "$work/master-h2.log" || fail "$(cat "$work/master-h2.log")"
grep -q "^final scoring: 4 cells in [0-9.]* s (120 samples each)$" "$work/h2.out" \
  || fail "summary: $(cat "$work/h2.out")"
feat='classifier-[0-9a-f]{16}-data-[0-9a-f]{16}'
[ "$(grep -cE "^[0-3],$total,120,[0-9.e-]+,$feat$" "$d5/final_scores.csv")" -eq 4 ] \
  || fail "final_scores.csv: $(cat "$d5/final_scores.csv")"
echo "PASS"
