#!/usr/bin/env bash
# tests/cli/cli.sh - what the lpz command line says and refuses, through
# the real binary: usage errors point at the command's own help; --port
# and --bind only with --client.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
# expect STATUS TEXT ARGS...: lpz ARGS exits STATUS and prints TEXT (a fixed string) on stderr.
expect() {
  local want=$1 text=$2
  shift 2
  set +e
  "$LPZ" "$@" > "$work/out" 2> "$work/err"
  local status=$?
  set -e
  [ "$status" -eq "$want" ] || fail "lpz $*: exit $status, expected $want: $(cat "$work/err")"
  grep -qF -- "$text" "$work/err" || fail "lpz $*: expected '$text' in: $(cat "$work/err")"
}

# 1. A usage error names the help of the command it was given to.
for c in train generate score plugins config classifier report; do
  expect 2 "unknown option '--bogus' (see 'lpz $c --help')" $c --bogus
  expect 2 "unknown option '-Z' (see 'lpz $c --help')" $c -Z
  expect 2 "option '--set' needs a value (see 'lpz $c --help')" $c --set
done
expect 2 "unknown option '--bogus' (see 'lpz --help')" --bogus
expect 2 "unknown command 'trian' (see 'lpz --help')" trian

# 2. --port and --bind are a client's: a local run and a master refuse them
#    (they would be ignored), before reading anything.
for mode in "" "--distributed --master"; do
  # shellcheck disable=SC2086
  expect 2 "--port is for a client: lpz train --distributed --client --port PORT" \
    train $mode --port 5098 -f "$work/no.yml"
  # shellcheck disable=SC2086
  expect 2 "--bind is for a client: lpz train --distributed --client --bind ADDR" \
    train $mode --bind 0.0.0.0 -f "$work/no.yml"
done

echo "cli: all checks passed"
