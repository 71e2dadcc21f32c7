#!/usr/bin/env bash
# Clients written off that live on:
#  a) a client stopped (SIGSTOP) longer than the heartbeat timeout, its cell
#     moved to a spare, then continued: the master tells it to drop the
#     experiment (it trained its cell on as a duplicate of the spare's, and
#     stayed busy, blocking the next master);
#  b) the same without a spare: the cell is back in the run on it when it
#     answers again (the master reported it lost and dropped its results);
#  c) a client killed and started again on the same port: the cell restarts
#     there from its checkpoint (the master got "this client is idle" and
#     reported the cell lost); d) also when it is started only after the
#     master wrote the cell off;
#  e) a client frozen in the middle of a checkpoint transfer: the master
#     heartbeats the others meanwhile (the transfer held every heartbeat for
#     up to 120 s, and the clients, silent master, dropped the run), writes
#     it off and moves its cell to the spare.
# Every section ends with each cell's sample images of every iteration in the run folder, as a run without a move:
# a cell restarted from a checkpoint had lost those it wrote before it (they stayed on the lost client).
. "$(dirname "$0")/common.sh"
export LPZ_SECRET="revive-test-secret" LPZ_DIST_HEARTBEAT_TIMEOUT_MS=2000
ITER=25
for i in 0 1 2 3 4; do start_client $i; done
for i in 0 1 2 3 4; do wait_listening $i; done
master_bg() {
  local name=$1
  shift
  for i in "${!CLIENT_PID[@]}"; do LOG_LINES[$i]=$(wc -l < "$work/c$i.log"); done
  timeout 150 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/$name" \
    --set trainer.n_iterations=$ITER --set general.checkpoint_period=1 \
    --set general.distribution.master_node.exit_clients_on_disconnect=false "$@" \
    > "$work/$name.out" 2> "$work/master-$name.log" &
  MASTER=$!
  PIDS+=($MASTER)
}
declare -a LOG_LINES
# at_iteration INDEX N: until client INDEX's log shows iteration N (or later) of this experiment
at_iteration() {
  local from=$((${LOG_LINES[$1]} + 1)) seen=""
  for _ in $(seq 1 600); do
    seen=$(tail -n +$from "$work/c$1.log" | sed -n "s|.*iteration \([0-9]*\)/$ITER done.*|\1|p" | sort -n | tail -n 1)
    [ -n "$seen" ] && [ "$seen" -ge "$2" ] && return 0
    sleep 0.05
  done
  fail "client $1 never reached iteration $2"
}
# until_log FILE PATTERN: wait (20 s) for PATTERN in FILE
until_log() {
  for _ in $(seq 1 400); do grep -q "$2" "$1" && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}
# check_samples DIR CELLS...: each cell's sample image of every iteration (samples/cell-C/iteration-NNNN.png)
check_samples() {
  local d=$1 missing
  shift
  for c in "$@"; do
    missing=$(for i in $(seq 1 $ITER); do
      [ -s "$d/samples/cell-$c/iteration-$(printf %04d "$i").png" ] || printf ' %d' "$i"
    done)
    [ -z "$missing" ] || fail "cell $c has no sample images of iterations$missing in $d/samples"
  done
}

# a) cells on clients 0-3, spare 4; client 1 stopped until the master wrote it off (a checkpoint each iteration: a
#    stop in the middle of a transfer held the master for 120 s, until transfers ran apart from the heartbeats)
master_bg a --set "$(nodes 0 4)"
at_iteration 1 2
kill -STOP "${CLIENT_PID[1]}"
until_log "$work/master-a.log" "cell 1 on tcp://127.0.0.1:$((BASE + 4))"
kill -CONT "${CLIENT_PID[1]}"
until_log "$work/c1.log" "the master aborts experiment"
until_log "$work/c1.log" "done; idle on port $((BASE + 1))"
wait $MASTER || fail "a) master failed: $(cat "$work/a.out")"
grep -q "written off, answers again: told to drop its copy of cell 1" "$work/master-a.log" \
  || fail "a) $(cat "$work/master-a.log")"
check_samples "$(run_dir "$work/a")" 0 1 2 3

# b) no spare: clients 0, 1, 2, 3; client 2 stopped until written off, then back
master_bg b --set "$(nodes 0 3)"
at_iteration 2 2
kill -STOP "${CLIENT_PID[2]}"
until_log "$work/master-b.log" "cell 2 is lost (no spare client)"
kill -CONT "${CLIENT_PID[2]}"
wait $MASTER || fail "b) master failed: $(cat "$work/b.out")"
grep -q "client tcp://127.0.0.1:$((BASE + 2)) (cell 2) answers again: cell 2 is back in the run there" \
  "$work/master-b.log" || fail "b) $(cat "$work/master-b.log")"
grep -q "^lost cell" "$work/b.out" && fail "b) the cell that came back is reported lost: $(cat "$work/b.out")"
check_cells "$(run_dir "$work/b")" 0 1 2 3
check_samples "$(run_dir "$work/b")" 0 1 2 3

# c) no spare: client 3 killed and started again on its port
master_bg c --set "$(nodes 0 3)"
at_iteration 3 2
kill -9 "${CLIENT_PID[3]}"
wait "${CLIENT_PID[3]}" 2> /dev/null
start_client 3
wait $MASTER || fail "c) master failed: $(cat "$work/c.out")"
grep -q "cell 3 restarted on tcp://127.0.0.1:$((BASE + 3)): an idle client answers at that address now" \
  "$work/master-c.log" || fail "c) $(cat "$work/master-c.log")"
grep -q "^cell 3: restarted 1 time, finished on tcp://127.0.0.1:$((BASE + 3))" "$work/c.out" \
  || fail "c) $(cat "$work/c.out")"
check_cells "$(run_dir "$work/c")" 0 1 2 3
check_samples "$(run_dir "$work/c")" 0 1 2 3

# d) the same, started again only after the master wrote the cell off (a restart slower than the heartbeat
#    timeout; under sanitizers c may take this path too)
master_bg d --set "$(nodes 0 3)"
at_iteration 2 2
kill -9 "${CLIENT_PID[2]}"
wait "${CLIENT_PID[2]}" 2> /dev/null
until_log "$work/master-d.log" "cell 2 is lost (no spare client)"
start_client 2
wait $MASTER || fail "d) master failed: $(cat "$work/d.out")"
grep -q "cell 2 restarted on tcp://127.0.0.1:$((BASE + 2)): an idle client answers at that address now" \
  "$work/master-d.log" || fail "d) $(cat "$work/master-d.log")"
grep -q "^lost cell" "$work/d.out" && fail "d) $(cat "$work/d.out")"
check_cells "$(run_dir "$work/d")" 0 1 2 3
check_samples "$(run_dir "$work/d")" 0 1 2 3

# e) clients 5-9 that drop a run after 6 s without word from the master; client 6 (cell 1) deaf for 15 s at its
#    first checkpoint request (LPZ_DIST_TEST_CHECKPOINT_STALL_MS: the client's control loop sleeps, as frozen)
for i in 5 7 8 9; do start_client $i LPZ_DIST_MASTER_TIMEOUT_MS=6000; done
start_client 6 LPZ_DIST_MASTER_TIMEOUT_MS=6000 LPZ_DIST_TEST_CHECKPOINT_STALL_MS=15000
for i in 5 6 7 8 9; do wait_listening $i; done
master_bg e --set "$(nodes 5 9)"
wait $MASTER || fail "e) master failed: $(cat "$work/e.out")"
grep -q "deaf for 15000 ms" "$work/c6.log" || fail "e) client 6 never stalled: $(tail -n 5 "$work/c6.log")"
grep -q "client tcp://127.0.0.1:$((BASE + 6)) (cell 1) lost" "$work/master-e.log" \
  || fail "e) $(cat "$work/master-e.log")"
grep -q "^cell 1: restarted 1 time, finished on tcp://127.0.0.1:$((BASE + 9))" "$work/e.out" \
  || fail "e) cell 1 did not move to the spare: $(cat "$work/e.out")"
grep -q "no word from the master" "$work/c5.log" "$work/c7.log" "$work/c8.log" "$work/c9.log" \
  && fail "e) clients dropped the run while the master waited for the frozen one"
check_cells "$(run_dir "$work/e")" 0 1 2 3
check_samples "$(run_dir "$work/e")" 0 1 2 3
echo "PASS"
