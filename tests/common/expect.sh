# tests/common/expect.sh - sourced by the command-line scripts (cli.sh,
# migrant.sh), which set LPZ (the binary), work (a scratch folder) and
# fail (prints FAIL: ... and exits 1) first.
# expect STATUS TEXT ARGS...: lpz ARGS exits STATUS and prints TEXT (a fixed
# string, or anything when empty) on stderr; its stdout is in $work/out,
# its stderr in $work/err.
expect() {
  local want=$1 text=$2
  shift 2
  set +e
  "$LPZ" "$@" > "$work/out" 2> "$work/err"
  local status=$?
  set -e
  [ "$status" -eq "$want" ] || fail "lpz $*: exit $status, expected $want: $(cat "$work/err")"
  [ -z "$text" ] || grep -qF -- "$text" "$work/err" || fail "lpz $*: expected '$text' in: $(cat "$work/err")"
}
