#!/usr/bin/env bash
# tests/report/report_cli.sh LPZ REPORT_FIXTURE
# `lpz report` as a user meets it: success message and file, a running run's
# page that reloads itself, and clear errors with the documented exit codes
# for a missing argument (2), a folder that is not a run (1), a missing
# folder (1) and a broken metrics.csv (1); damaged files listed in the page
# (exit 0) without reading a FIFO or a device.
set -euo pipefail
lpz=$1 fixture=$2
tmp=$(mktemp -d /tmp/lpz-test-report-cli-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

expect() { # expected-status grep-pattern args...
  local want=$1 pattern=$2; shift 2
  local rc=0
  timeout 60 "$lpz" "$@" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?
  [ "$rc" = "$want" ] || { cat "$tmp/stderr"; fail "lpz $*: exit $rc, expected $want"; }
  grep -q -- "$pattern" "$tmp/stdout" "$tmp/stderr" || { cat "$tmp/stdout" "$tmp/stderr"; fail "lpz $*: no '$pattern'"; }
  echo "ok: lpz $* -> $rc"
}

"$fixture" "$tmp/done"
expect 0 "report: $tmp/done/report.html" report "$tmp/done"
grep -q 'data-state="finished"' "$tmp/done/report.html" || fail "finished run not marked finished"
! grep -q 'http-equiv="refresh"' "$tmp/done/report.html" || fail "finished run reloads itself"

"$fixture" "$tmp/going" running
expect 0 "report: $tmp/going/report.html" report "$tmp/going"
grep -q '<meta http-equiv="refresh" content="10">' "$tmp/going/report.html" || fail "running run does not reload"

# -q prints nothing on success.
"$lpz" report -q "$tmp/done" >"$tmp/quiet" && [ ! -s "$tmp/quiet" ] || fail "-q printed something"

expect 2 "needs the run folder" report
expect 2 "unexpected argument" report "$tmp/done" "$tmp/going"
expect 1 "not an lpz run folder" report "$tmp"
expect 1 "no such folder" report "$tmp/nothing-here"
mkdir "$tmp/broken"
printf 'x,y\n1,2\n' >"$tmp/broken/metrics.csv"
expect 1 "metrics.csv:1: the header has no 'iteration' column, so this is not lpz's metrics file, and the folder" \
  report "$tmp/broken"

# Damaged run files are problems listed in the page, not failures; a FIFO
# or /dev/zero is never read (it would block, or never end).
problem() { # dir text
  grep -qF -- "$2" "$1/report.html" || fail "$1/report.html does not list '$2'"
  ! grep -q "Finished after 0 iterations" "$1/report.html" || fail "$1/report.html claims 0 iterations"
}
"$fixture" "$tmp/fifo"
rm "$tmp/fifo/metrics.csv" && mkfifo "$tmp/fifo/metrics.csv"
expect 0 "report: $tmp/fifo/report.html" report "$tmp/fifo"
problem "$tmp/fifo" "metrics.csv is not a regular file (a FIFO); not read"
"$fixture" "$tmp/zero"
rm "$tmp/zero/metrics.csv" && ln -s /dev/zero "$tmp/zero/metrics.csv"
rm "$tmp/zero/samples/cell-1/iteration-0004.png" && ln -s /dev/urandom "$tmp/zero/samples/cell-1/iteration-0004.png"
: >"$tmp/zero/master/0/mixture.yml"
expect 0 "report: $tmp/zero/report.html" report "$tmp/zero"
problem "$tmp/zero" "metrics.csv is not a regular file (a symbolic link to a character device); not read"
problem "$tmp/zero" "samples/cell-1/iteration-0004.png is not a regular file (a symbolic link to a character device)"
problem "$tmp/zero" "master/0/mixture.yml: empty"
# ... and the command says how many (on stderr, also with -q); a sound run has none.
grep -q "the page lists 3 problems found while reading the run" "$tmp/stderr" \
  || fail "no count of the problems: $(cat "$tmp/stderr")"
"$lpz" report -q "$tmp/zero" 2>"$tmp/qerr" >/dev/null; grep -q "lists 3 problems" "$tmp/qerr" || fail "-q hid the count"
"$lpz" report "$tmp/done" 2>"$tmp/derr" >/dev/null; [ ! -s "$tmp/derr" ] || fail "a sound run: $(cat "$tmp/derr")"
# A run folder (it has config.yml) whose metrics.csv header was replaced: a problem listed, not a failure.
"$fixture" "$tmp/hdr"
sed -i '1s/.*/hello/' "$tmp/hdr/metrics.csv"
expect 0 "report: $tmp/hdr/report.html" report "$tmp/hdr"
problem "$tmp/hdr" "metrics.csv:1: the header has no &#39;iteration&#39; column"
echo PASS
