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
# Control ports BASE..BASE+9 (cell servers at +1000), chosen from the pid
# so that parallel test runs rarely meet; a test also checks the port is free.
BASE=$((20000 + ($$ % 900) * 10 + ${PORT_SHIFT:-0}))
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
# wait_listening INDEX: until the client's log says it listens (30 s: slow
# under sanitizers on a loaded machine).
wait_listening() {
  for _ in $(seq 1 600); do
    grep -q "client listening" "$work/c$1.log" 2>/dev/null && return 0
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
