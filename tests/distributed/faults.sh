#!/usr/bin/env bash
# Lost clients: a client killed with SIGKILL mid-run
#  a) with a spare: the cell restarts there from its checkpoint, every cell's
#     results arrive, the run succeeds;
#  b) without a spare, exit_clients_on_disconnect false: the run finishes
#     with the survivors and names the lost cell;
#  c) exit_clients_on_disconnect true: the master stops every client and
#     exits non-zero; the clients are idle again afterwards;
#  d) every client killed: no cell's results, so the run fails (it said
#     "trained 0 cells" and exited 0), keeping the rows that came with the
#     checkpoints;
#  e) the master killed: the rows that came with the checkpoints are on disk
#     already (they were written only at the end, and lost); a --resume at
#     once takes over the client busy with the dead master's experiment and
#     removes the temporary files it left; Ctrl-C twice on it says the run
#     was aborted (not that its cells were lost);
#  f) a client listed twice is refused, naming it (each greeting spoiled the
#     other's challenge: "wrong shared secret");
#  g) Ctrl-C on a client: the master collects its cell's results first; the
#     summary says that cell stopped early and leaves it out of the best cell.
#  h) checkpoints the master cannot store: the run still ends with results.
#  i) a client stopped (SIGSTOP) until its master wrote it off and ended,
#     then continued: it drops the experiment once the master has said
#     nothing for LPZ_DIST_WOKEN_TIMEOUT_MS since it woke (it stayed busy for
#     LPZ_DIST_MASTER_TIMEOUT_MS, 60 s by default, refusing new masters).
# No process is left behind (the trap kills every client).
. "$(dirname "$0")/common.sh"
export LPZ_SECRET="fault-test-secret"
# Enough iterations that the survivors are still training when the master
# has noticed a lost client (heartbeat timeout 4 s) and announced where its
# cell went (a: to the spare, b: gone): a tiny iteration takes ~0.2 s.
ITER=20
for i in 0 1 2 3 4; do start_client $i; done
for i in 0 1 2 3 4; do wait_listening $i; done

# master_bg NAME [--set ...]: a 2x2 master in the background on the clients given with nodes, under `timeout 150`
# (MASTER_WRAP=env: without, so that $MASTER is lpz itself and a signal to it reaches the master, not timeout).
declare -a LOG_LINES
master_bg() {
  local name=$1
  shift
  for i in "${!CLIENT_PID[@]}"; do LOG_LINES[$i]=$(wc -l < "$work/c$i.log"); done
  ${MASTER_WRAP:-timeout 150} "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/$name" \
    --set trainer.n_iterations=$ITER --set general.checkpoint_period=1 "$@" \
    > "$work/$name.out" 2> "$work/master-$name.log" &
  MASTER=$!
  PIDS+=($MASTER)
}
# kill_when INDEX ITERATION [SIGNAL]: SIGKILL (or SIGNAL) client INDEX once
# its log shows that iteration, or a later one, of the current experiment
# (lines after the master started; the progress line is periodic, so fast
# iterations may not each get one).
kill_when() {
  local from=$((${LOG_LINES[$1]} + 1)) seen=0
  for _ in $(seq 1 600); do
    seen=$(tail -n +$from "$work/c$1.log" | sed -n "s|.*iteration \([0-9]*\)/$ITER done.*|\1|p" | sort -n | tail -n 1)
    [ -n "$seen" ] && [ "$seen" -ge "$2" ] && break
    sleep 0.05
  done
  [ -n "$seen" ] && [ "$seen" -ge "$2" ] || fail "client $1 never reached iteration $2"
  kill -"${3:-KILL}" "${CLIENT_PID[$1]}"
}

# a) four cells on clients 0-3, client 4 is the spare; cell 1 dies once the
#    master holds a checkpoint of it.
master_bg a --set "$(nodes 0 4)" --set general.distribution.master_node.exit_clients_on_disconnect=false
for _ in $(seq 1 1200); do
  d=$(run_dir "$work/a")
  [ -n "$d" ] && [ -s "$d/checkpoints/cell-1.safetensors" ] && break
  sleep 0.05
done
[ -s "$d/checkpoints/cell-1.safetensors" ] || fail "a) the master never received a checkpoint of cell 1"
kill -9 "${CLIENT_PID[1]}"
wait $MASTER || fail "a) master failed after a lost client with a spare: $(cat "$work/a.out")"
d=$(run_dir "$work/a")
check_cells "$d" 0 1 2 3
grep -q "cell 1: restarted 1 time, finished on tcp://127.0.0.1:$((BASE + 4))" "$work/a.out" \
  || fail "a) the summary does not say cell 1 moved to the spare: $(cat "$work/a.out")"
grep -q "resumed from its latest checkpoint" "$work/master-a.log" || fail "a) cell 1 did not resume from a checkpoint"
grep -q "resuming from iteration" "$work/c4.log" || fail "a) the spare did not resume"
# Every cell has a row for every iteration (cell 1's early rows came with its checkpoints).
[ "$(wc -l < "$d/metrics.csv")" -eq $((1 + ITER * 4)) ] || fail "a) metrics.csv has $(wc -l < "$d/metrics.csv") lines"
# The neighbours followed the move.
# (grep reads the files itself: `cat | grep -q` under pipefail fails when
# grep stops early and cat gets SIGPIPE.)
grep -q "neighbour moved from" "$work/c0.log" "$work/c3.log" || fail "a) no neighbour followed the move of cell 1"

# b) no spare left (clients 0, 2, 3, 4 of which one dies), keep going.
master_bg b --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: $BASE}, {address: 127.0.0.1, port: $((BASE + 2))-$((BASE + 4))}]" \
  --set general.distribution.master_node.exit_clients_on_disconnect=false
kill_when 2 3
wait $MASTER || fail "b) master failed without a spare: $(cat "$work/b.out")"
d=$(run_dir "$work/b")
grep -q "^lost cell: 1 (no results)" "$work/b.out" || fail "b) lost cell not reported: $(cat "$work/b.out")"
grep -q "^trained 3 cells" "$work/b.out" || fail "b) summary: $(cat "$work/b.out")"
check_cells "$d" 0 2 3
[ ! -e "$d/master/1/mixture.yml" ] || fail "b) a lost cell has a mixture"
# Its neighbours (cells 0 and 3, on clients 0 and 4) were told it is gone,
# so they stop waiting for it every iteration.
grep -q "neighbour tcp://.* is gone" "$work/c0.log" "$work/c4.log" || fail "b) the neighbours were not told cell 1 is gone"

# c) exit_clients_on_disconnect: clients 0, 3, 4 and a new 5; client 3 dies.
start_client 5
wait_listening 5
master_bg c --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: $BASE}, {address: 127.0.0.1, port: $((BASE + 3))-$((BASE + 5))}]" \
  --set general.distribution.master_node.exit_clients_on_disconnect=true
kill_when 3 2
wait $MASTER && fail "c) master exited 0 although a client was lost"
grep -q "was lost; the experiment was stopped on every client" "$work/master-c.log" || fail "c) no stop message"
# The survivors dropped the experiment and are idle: a 1x1 run on each works.
for i in 0 4 5; do
  timeout 60 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/after$i" \
    --set "$(nodes $i $i)" --set general.grid_size=1 --set trainer.params.tournament_size=1 \
    --set trainer.n_iterations=1 > "$work/after$i.out" 2>&1 || fail "c) client $i is not usable after the stop"
done

# d) every client of the run killed (6-9, new), once each is past iteration 2.
for i in 6 7 8 9; do start_client $i; done
for i in 6 7 8 9; do wait_listening $i; done
master_bg d --set "$(nodes 6 9)" --set general.distribution.master_node.exit_clients_on_disconnect=false
for i in 6 7 8 9; do kill_when $i 2; done
wait $MASTER && fail "d) master exited 0 with every cell lost: $(cat "$work/d.out")"
grep -q "every cell was lost (4 of 4): no results arrived" "$work/master-d.log" || fail "d) $(cat "$work/master-d.log")"
d=$(run_dir "$work/d")
[ "$(wc -l < "$d/metrics.csv")" -gt 1 ] || fail "d) the rows that came with the checkpoints were not kept"

# g) Ctrl-C on a client (9) mid-run: its cell ends its batch, the master collects its results, then the client exits
#    0 (it deleted them at once and the master reported the cell lost).
#    New clients on the ports of d's, which are dead (clients 10-13 listened in the next test's block of ports).
for i in 6 7 8 9; do wait "${CLIENT_PID[$i]}" 2> /dev/null; start_client $i; done
for i in 6 7 8 9; do wait_listening $i; done
master_bg g --set "$(nodes 6 9)" --set general.distribution.master_node.exit_clients_on_disconnect=false
kill_when 9 2 INT
wait "${CLIENT_PID[9]}" || fail "g) the client stopped with Ctrl-C exited with $?"
grep -q "stopping: cell 3 ends its batch; waiting up to 30 s for the master to collect its results" "$work/c9.log" \
  || fail "g) $(tail -n 5 "$work/c9.log")"
# it exits: not "idle on port" on its way out
grep -q "idle on port" "$work/c9.log" && fail "g) the exiting client said it was idle: $(tail -n 5 "$work/c9.log")"
wait $MASTER || fail "g) master failed: $(cat "$work/g.out")"
grep -q "^lost cell" "$work/g.out" && fail "g) the stopped client's cell was lost: $(cat "$work/g.out")"
# The summary names the cell stopped short and does not compare it with the complete ones (it was the best cell
# with 9 of 25 iterations, never mentioned).
grep -q "^cell 3: stopped at iteration [0-9]* of $ITER (its client was stopped)" "$work/g.out" \
  || fail "g) the summary does not say cell 3 stopped early: $(cat "$work/g.out")"
grep -q "^best cell: 3" "$work/g.out" && fail "g) the cell stopped early is the best cell: $(cat "$work/g.out")"
grep -q "^to train the stopped cell on: lpz train --distributed --master --resume " "$work/g.out" \
  || fail "g) no resume hint: $(cat "$work/g.out")"
check_cells "$(run_dir "$work/g")" 0 1 2 3

# e) a 1x1 run on client 0, its master killed with SIGKILL once a row is on disk (200 iterations: far from done).
# (SIGKILL to a `timeout` wrapper left the master running: it heartbeated on, restarted its cell on the client the
# resume below had taken over, and the resume's START was refused "busy")
ITER=200
MASTER_WRAP=env master_bg e --set "$(nodes 0 0)" --set general.grid_size=1 --set trainer.params.tournament_size=1
for _ in $(seq 1 400); do
  d=$(run_dir "$work/e")
  [ -n "$d" ] && [ -s "$d/metrics.csv" ] && [ "$(wc -l < "$d/metrics.csv")" -gt 1 ] && break
  sleep 0.05
done
[ -n "$d" ] && [ "$(wc -l < "$d/metrics.csv" 2> /dev/null || echo 0)" -gt 1 ] \
  || fail "e) no metrics row on disk 20 s into the run: $(ls "$d" 2>&1)"
# A request of another experiment to the running cell's server: refused, naming the sender's address in the log,
# without telling the cell's experiment id (the reply said "this side belongs to experiment <id>").
out=$("$PROBE" "tcp://127.0.0.1:$((BASE + 1000))" cell "$LPZ_SECRET") || fail "e) the cell server answered: $out"
id=$(sed -n 's/.*experiment \([0-9a-f]*\), results in.*/\1/p' "$work/master-e.log")
[ -n "$id" ] || fail "e) no experiment id in $(cat "$work/master-e.log")"
grep -q "refused: message from experiment 000000000000002a, not this side's experiment" <<< "$out" \
  || fail "e) cell server: $out"
grep -q "$id" <<< "$out" && fail "e) the cell server told its experiment id to a stranger: $out"
grep -q "cell server .*: refused a request from 127.0.0.1:[0-9]*: " "$work/c0.log" \
  || fail "e) the cell server's refusal does not name the peer: $(grep "refused" "$work/c0.log")"
# A --resume while the master still runs is refused, naming it (it would train the folder's cells a second time).
if "$LPZ" train --distributed --master --resume "$d" > "$work/e-busy.out" 2>&1; then
  fail "e) a resume of a running distributed run was not refused"
fi
grep -q "is in use: another lpz (process $MASTER) trains in it" "$work/e-busy.out" \
  || fail "e) $(cat "$work/e-busy.out")"
kill -9 $MASTER
wait $MASTER 2> /dev/null
kill -0 $MASTER 2> /dev/null && fail "e) the master survived SIGKILL"
[ "$(wc -l < "$d/metrics.csv")" -gt 1 ] && [ "$(wc -l < "$d/timing.csv")" -gt 1 ] \
  || fail "e) the killed master's rows are gone"
# A --resume at once takes over the client still busy with the killed master's experiment (it was refused for
# LPZ_DIST_MASTER_TIMEOUT_MS: "busy with experiment ...") and removes the temporary file of a write the killed
# master left (it stayed for good); then Ctrl-C.
sleep 0 &
dead=$!
wait $dead
: > "$d/checkpoints/cell-0.safetensors.tmp.$dead.7"
# (no `timeout`: it passes a SIGINT on twice, and the Ctrl-C below is to reach the master as the user's)
"$LPZ" train --distributed --master --resume "$d" > "$work/e2.out" 2> "$work/master-e2.log" &
MASTER=$!
PIDS+=($MASTER)
for _ in $(seq 1 400); do grep -q "^lpz: info: cell 0 on" "$work/master-e2.log" && break; sleep 0.05; done
# Ctrl-C twice (the client held with SIGSTOP, so that the first stop cannot collect the results in between): the
# summary says the run was aborted, not that its cells were lost ("stopped 0 cells", "lost cell: 0 (no results)").
kill -STOP "${CLIENT_PID[0]}"
kill -INT $MASTER
sleep 1.3
kill -INT $MASTER
wait $MASTER
[ $? = 130 ] || fail "e) the resume after the master was killed: $(cat "$work/master-e2.log")"
kill -CONT "${CLIENT_PID[0]}"
grep -q "^aborted: every client dropped the experiment (Ctrl-C twice)" "$work/e2.out" || fail "e) $(cat "$work/e2.out")"
grep -q "lost" "$work/e2.out" "$work/master-e2.log" \
  && fail "e) an aborted run's cells are called lost: $(cat "$work/e2.out")"
grep -q "client tcp://127.0.0.1:$BASE was busy with experiment [0-9a-f]* of this run (its master is gone): stopped it" \
  "$work/master-e2.log" || fail "e) the client was not taken over: $(cat "$work/master-e2.log")"
[ ! -e "$d/checkpoints/cell-0.safetensors.tmp.$dead.7" ] || fail "e) the killed master's temporary file is left"

# f) a client listed twice (no client needs to run: refused before any greeting).
timeout 30 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/f" \
  --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: 5999}, {address: 127.0.0.1, port: 5998-5999}]" \
  > "$work/f.out" 2> "$work/master-f.log" && fail "f) a client listed twice was accepted"
grep -q "general.distribution.client_nodes lists 127.0.0.1 port 5999 twice (entries 1 and 3)" "$work/master-f.log" \
  || fail "f) $(cat "$work/master-f.log")"

# h) the master cannot store checkpoints (its checkpoints/ replaced by a file, as a full disk would fail them): the
#    run still ends with the cell's results (the finished cell's checkpoint was fetched again and again, its results
#    never asked for, and the master never ended). Client 6 is idle since g.
ITER=30
master_bg h --set "$(nodes 6 6)" --set general.grid_size=1 --set trainer.params.tournament_size=1
for _ in $(seq 1 400); do
  d=$(run_dir "$work/h")
  [ -n "$d" ] && [ -d "$d/checkpoints" ] && break
  sleep 0.05
done
[ -d "$d/checkpoints" ] || fail "h) no checkpoints folder: $(cat "$work/master-h.log")"
rm -rf "$d/checkpoints" && : > "$d/checkpoints"
wait $MASTER || fail "h) master failed: $(cat "$work/h.out")"
grep -q "checkpoint of cell 0 not stored" "$work/master-h.log" || fail "h) $(cat "$work/master-h.log")"
grep -q "^trained 1 cell" "$work/h.out" || fail "h) $(cat "$work/h.out")"
check_cells "$d" 0

# i) client 9 (it exited in g) again, stopped once its 1x1 cell has an iteration
start_client 9 LPZ_DIST_WOKEN_TIMEOUT_MS=2000
wait_listening 9
master_bg i --set "$(nodes 9 9)" --set general.grid_size=1 --set trainer.params.tournament_size=1
kill_when 9 1 STOP
from=$((${LOG_LINES[9]} + 1))
wait $MASTER && fail "i) the master exited 0 with its only cell lost: $(cat "$work/i.out")"
kill -CONT "${CLIENT_PID[9]}"
for _ in $(seq 1 600); do
  tail -n +$from "$work/c9.log" | grep -q "done; idle on port $((BASE + 9))" && break
  sleep 0.05
done
tail -n +$from "$work/c9.log" | grep -q "no word from the master in the 2 s since this client was stopped: dropping \
experiment" || fail "i) $(tail -n 8 "$work/c9.log")"
tail -n +$from "$work/c9.log" | grep -q "done; idle on port $((BASE + 9))" || fail "i) still busy: $(tail -n 5 "$work/c9.log")"
echo "PASS"
