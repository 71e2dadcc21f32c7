#!/usr/bin/env bash
# Clients shared by several masters and work folders:
#  a) a client listed under two addresses (127.0.0.1 and 127.0.0.2 reach
#     the same client) is refused, naming both (it counted as two clients);
#  b) two masters started at the same moment on the same eight clients both
#     finish their 2x2 grid (each HELLO replaced the client's one challenge,
#     so both failed with "stale challenge or wrong shared secret"; and a
#     client taken by the other master between greeting and start aborted
#     the run): every cell of both runs has its results, none is lost;
#  c) the work folder of a SIGKILLed client is removed when a client starts
#     on that folder again, while the folder of a live client sharing it
#     (the same port on another --bind address) is left to it, and its
#     experiment finishes.
. "$(dirname "$0")/common.sh"
export LPZ_SECRET="sharing-test-secret"

# a) no run is needed: refused after the greetings.
start_client 0
wait_listening 0
timeout 60 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/a" \
  --set "general.distribution.client_nodes=[{address: 127.0.0.1, port: $BASE}, {address: 127.0.0.2, port: $BASE}]" \
  > "$work/a.out" 2> "$work/master-a.log" && fail "a) one client under two addresses was accepted"
grep -q "client_nodes: 127.0.0.1 port $BASE and 127.0.0.2 port $BASE are the same client" "$work/master-a.log" \
  || fail "a) $(cat "$work/master-a.log")"

# b) two rounds of two masters at once on clients 0-7.
for i in 1 2 3 4 5 6 7; do start_client $i; done
for i in 1 2 3 4 5 6 7; do wait_listening $i; done
for round in 1 2; do
  pids=()
  for x in A B; do
    timeout 150 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/b$round$x" \
      --set "$(nodes 0 7)" --set general.distribution.master_node.exit_clients_on_disconnect=false \
      > "$work/b$round$x.out" 2> "$work/master-b$round$x.log" &
    pids+=($!)
    PIDS+=($!)
  done
  for k in 0 1; do
    x=$([ $k = 0 ] && echo A || echo B)
    wait "${pids[$k]}" || fail "b) round $round: master $x failed: $(cat "$work/master-b$round$x.log")"
    grep -q "^lost cell" "$work/b$round$x.out" && fail "b) round $round: master $x lost a cell"
    check_cells "$(run_dir "$work/b$round$x")" 0 1 2 3
  done
done
# A cell moved after its neighbours started is followed at their next fetch
# at the latest: none asks the other master's cell at the old address again
# and again (a move announced before the neighbour's fetcher was open was
# ignored for the whole run).
again=$(cat "$work"/c[0-7].log | grep "neighbour cell .*not this side.s experiment" | sort | uniq -c | awk '$1 > 1')
[ -z "$again" ] || fail "b) neighbours did not follow a moved cell: $again"

# c) clients P and Q on port BASE+8, bound to 127.0.0.2 and 127.0.0.3, one
#    work folder root. P trains a 1x1 grid for a while; Q is SIGKILLed in
#    the middle of another and started again.
shared="$work/shared"
mkdir -p "$shared"
root="$shared/lpz-client-$((BASE + 8))"
start_shared() { # NAME BIND
  env TMPDIR="$shared" "$LPZ" train --distributed --client --port $((BASE + 8)) --bind "$2" >> "$work/$1.log" 2>&1 &
  PIDS+=($!)
  eval "PID_$1=$!"
  for _ in $(seq 1 600); do
    [ "$(grep -c "client listening" "$work/$1.log" 2>/dev/null)" -ge "$3" ] && return 0
    sleep 0.05
  done
  fail "c) client $1 did not start"
}
one_cell() { # NAME ADDRESS ITERATIONS
  timeout 150 "$LPZ" train --distributed --master -f "$CFG" --set general.output_dir="$work/$1" \
    --set "general.distribution.client_nodes=[{address: $2, port: $((BASE + 8))}]" --set general.grid_size=1 \
    --set trainer.params.tournament_size=1 --set trainer.n_iterations="$3" \
    --set general.distribution.master_node.exit_clients_on_disconnect=false \
    > "$work/$1.out" 2> "$work/master-$1.log" &
  PIDS+=($!)
}
# P's run is long (stopped with Ctrl-C once the checks are done), so that it
# is training whatever the machine's speed while Q is killed and restarted.
start_shared P 127.0.0.2 1
start_shared Q 127.0.0.3 1
one_cell cP 127.0.0.2 2000
MP=$!
one_cell cQ 127.0.0.3 2000
MQ=$!
folders() { ls -d "$root"/*-0-* 2> /dev/null | wc -l; }
for _ in $(seq 1 600); do
  [ "$(folders)" -ge 2 ] && grep -q "iteration [1-9][0-9]*/2000 done" "$work/Q.log" && break
  sleep 0.05
done
[ "$(folders)" -ge 2 ] || fail "c) the two work folders are not there: $(ls -a "$root")"
kill -9 "$PID_Q"
wait "$PID_Q" 2> /dev/null
[ "$(folders)" -eq 2 ] || fail "c) a folder went away with the killed client: $(ls -a "$root")"
# (Q's master goes first: it would restart its cell on Q started again at the same address, in a new folder)
# ($MQ is `timeout`: the master is its child)
pkill -9 -P $MQ 2> /dev/null
kill -9 $MQ 2> /dev/null
wait $MQ 2> /dev/null
start_shared Q 127.0.0.3 2
grep -q "removed $root/.*-0-.*, the work folder of a client that was killed" "$work/Q.log" \
  || fail "c) the killed client's folder was not removed: $(tail -n 3 "$work/Q.log")"
[ "$(folders)" -eq 1 ] || fail "c) $(ls -a "$root")"
kill -0 $MP 2> /dev/null || fail "c) P's run ended before the checks: $(tail -n 3 "$work/master-cP.log")"
kill -INT $MP
wait $MP
[ $? -eq 130 ] || fail "c) P's master after Ctrl-C: $(tail -n 3 "$work/master-cP.log")"
check_cells "$(run_dir "$work/cP")" 0
echo "PASS"
