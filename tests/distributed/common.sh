# tests/distributed/common.sh - sourced by the distributed end-to-end tests:
# paths, free-ish ports, clients started in the background and always
# killed on exit.
set -uo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
PROBE="$LPZ_BUILD_DIR/tests/dist_probe"
CFG="$LPZ_SOURCE_DIR/tests/runtime/tiny-2x2.yml"
if [ ! -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]; then
  echo "SKIPPED: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"
  exit 77
fi
work=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
  if [ -n "${LPZ_TEST_KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*"
  for f in "$work"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
  exit 1
}
# Control ports BASE..BASE+9 and cell servers BASE+1000..BASE+1009: block k
# of 450, BASE = 20000 + 2000 * (k / 100) + 10 * (k % 100), so no block's
# cell ports are another block's control ports (with BASE from the pid and
# cells at +1000, runs whose pids differed by 100 modulo 900 met, and a
# cell server could not listen: "Address in use"). The block is held with
# flock in /tmp/lpz-test-ports for as long as this script and its clients
# run, so that concurrent runs (other build folders and worktrees too)
# never share one, and is taken only when all 20 ports are free (something
# else may hold some). Ports stay below 32768, where the kernel picks
# outgoing ports.
port_free() { ! (exec 3<> "/dev/tcp/127.0.0.1/$1") 2> /dev/null; }
take_ports() {
  local locks=/tmp/lpz-test-ports k i p free
  mkdir -p "$locks" 2> /dev/null && chmod 1777 "$locks" 2> /dev/null
  for i in $(seq 0 449); do
    k=$(((${$} + i) % 450))
    BASE=$((20000 + 2000 * (k / 100) + 10 * (k % 100)))
    [ -e "$locks/$k" ] || : > "$locks/$k" 2> /dev/null
    exec {PORT_LOCK}< "$locks/$k" || continue
    if flock -n "$PORT_LOCK"; then
      free=1
      for p in $(seq "$BASE" $((BASE + 9))) $(seq $((BASE + 1000)) $((BASE + 1009))); do
        port_free "$p" || { free=0; break; }
      done
      [ "$free" = 1 ] && return 0
    fi
    exec {PORT_LOCK}<&-
  done
  echo "FAIL: no free block of test ports (20000-29999)"
  exit 1
}
take_ports
# Quick fault detection for the tests (see docs/distributed.md), with room
# for sanitizer builds on a loaded machine.
export LPZ_DIST_HEARTBEAT_TIMEOUT_MS=4000 LPZ_DIST_FETCH_TIMEOUT_MS=1000 LPZ_DIST_MASTER_TIMEOUT_MS=120000

# start_client INDEX [extra env...]: client on BASE+INDEX, log in work/cINDEX.log
start_client() {
  local i=$1
  shift
  mkdir -p "$work/c$i"
  # env execs lpz, so $! is the client itself (a `timeout` wrapper would
  # be killed instead of it and leave it running).
  env TMPDIR="$work/c$i" "$@" "$LPZ" train --distributed --client --port $((BASE + i)) \
    > "$work/c$i.log" 2>&1 &
  PIDS+=($!)
  CLIENT_PID[$i]=$!
}
declare -a CLIENT_PID
# wait_listening INDEX: until the client's log says it listens (60 s: slow
# under sanitizers on a loaded machine, nine clients starting at once beside
# another test took more than 30 s).
wait_listening() {
  for _ in $(seq 1 1200); do
    grep -q "client listening" "$work/c$1.log" 2>/dev/null && return 0
    kill -0 "${CLIENT_PID[$1]}" 2> /dev/null || fail "client $1 exited at start"
    sleep 0.05
  done
  fail "client $1 did not start"
}
# nodes FIRST LAST: the --set value listing clients FIRST..LAST.
nodes() { echo "general.distribution.client_nodes=[{address: 127.0.0.1, port: $((BASE + $1))-$((BASE + $2))}]"; }
run_dir() { ls -d "$1"/lipizzaner_gan/*/ 2>/dev/null | head -n 1; }
# check_cells DIR CELLS...: every listed cell has its mixture and models.
check_cells() {
  local d=$1
  shift
  for c in "$@"; do
    [ -s "$d/master/$c/mixture.yml" ] || fail "no mixture of cell $c in $d"
    ls "$d/master/$c"/generator-*.safetensors > /dev/null 2>&1 || fail "no generators of cell $c"
    grep -q "^generator-$c.safetensors: " "$d/master/$c/mixture.yml" || fail "mixture of cell $c lacks its generator"
  done
}
