#!/usr/bin/env bash
# tests/cli/cli.sh - what the lpz command line says and refuses, through
# the real binary: usage errors point at the command's own help; --port
# and --bind only with --client; lpz config checks plugin options as lpz
# train does.
set -euo pipefail
LPZ="$LPZ_BUILD_DIR/bin/lpz"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # the run files' default output_dir ./output lands here, if anywhere
fail() { echo "FAIL: $*"; exit 1; }
# expect STATUS TEXT ARGS...: lpz ARGS exits STATUS and prints TEXT (a fixed string, or
# anything when empty) on stderr; its stdout is in $work/out.
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

# 3. lpz config checks the plugins' options as lpz train does: the same
#    message and exit status, nothing printed on stdout; plugins are looked
#    up on the --plugin-dir / usual search path.
cat > "$work/bs.yml" <<'YML'
dataloader:
  dataset_name: fashion_mnist
  batchsize: 100
network:
  name: four_layer_perceptron
YML
sed '/batchsize/d' "$work/bs.yml" > "$work/ok.yml"
for c in config train; do
  expect 1 "bs.yml:3:14: dataloader.batchsize: unknown option 'batchsize' for plugin 'fashion_mnist' (did you mean \
the core key 'dataloader.batch_size'?)" $c -f "$work/bs.yml"
  [ ! -s "$work/out" ] || fail "lpz $c printed a configuration it refused: $(head -3 "$work/out")"
  expect 1 "--set dataloader.pathh: unknown option 'pathh' for plugin 'fashion_mnist' (did you mean 'path'?)" \
    $c -f "$work/ok.yml" --set dataloader.pathh=/x
  expect 1 "--set network.hidden: option 'hidden' of plugin 'four_layer_perceptron' expects an integer, got 'abc'" \
    $c -f "$work/ok.yml" --set network.hidden=abc
  expect 1 "--set network.name: no network plugin named 'nope' (searched " $c -f "$work/ok.yml" --set network.name=nope
done
[ ! -e "$work/output" ] || fail "a refused configuration created $work/output"
expect 0 "" config -f "$work/ok.yml" --set dataloader.path=/data
grep -qF 'path: "/data"  # plugin option, --set' "$work/out" || fail "lpz config: $(cat "$work/out")"
FX="$LPZ_BUILD_DIR/tests/plugin-fixtures"
expect 1 "--set dataloader.dataset_name: no dataloader plugin named 'fixture_valid'" \
  config -f "$work/ok.yml" --set dataloader.dataset_name=fixture_valid
expect 1 "--set dataloader.scale: option 'scale' of plugin 'fixture_valid' expects a number, got 'big'" \
  config -f "$work/ok.yml" --plugin-dir "$FX" --set dataloader.dataset_name=fixture_valid --set dataloader.scale=big
expect 0 "" config -f "$work/ok.yml" --plugin-dir "$FX" --set dataloader.dataset_name=fixture_valid \
  --set dataloader.scale=2

# 4. lpz score --sample-size: FID needs 2 samples at least; said naming the
#    option, as a usage error, before anything is read.
expect 2 "--sample-size 1: scores need at least 2 samples" score -f "$work/ok.yml" --samples "$work/no.npy" \
  --sample-size 1

# 5. The AMX hint ("this CPU has AMX: general.matmul_precision: high ...") is
#    not printed in front of an error about the configuration, its plugins,
#    data or clients (on a CPU without AMX there is no hint to print).
for args in "--set network.hidden=abc" "--set dataloader.path=$work/none" "--set network.hidden=0" \
            "--distributed --master"; do
  # shellcheck disable=SC2086
  expect 1 "lpz: error: " train -f "$work/ok.yml" $args
  if grep -q "this CPU has AMX" "$work/err"; then fail "lpz train $args: the AMX hint, then: $(cat "$work/err")"; fi
done

echo "cli: all checks passed"
