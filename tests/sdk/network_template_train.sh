#!/usr/bin/env bash
# docs/howto/add-a-network.md, followed as a user would: sdk/template-network
# copied and built out of tree against an installed lpz, `lpz plugins -v`,
# then the how-to's own run file (extracted from the page) through
# `lpz config`, `lpz train` (a 1x1 grid, 2 iterations of 10 batches on
# Fashion-MNIST) and `lpz generate` with --plugin-dir; the outputs and error
# messages the page quotes must be what lpz prints. Skipped (77) without
# Fashion-MNIST.
. "$LPZ_SOURCE_DIR/tests/common/e2e.sh"
. "$LPZ_SOURCE_DIR/tests/sdk/sdk_common.sh"
howto="$LPZ_SOURCE_DIR/docs/howto/add-a-network.md"
prefix="$work/prefix"
install_sdk "$prefix"
LPZ="$prefix/bin/lpz"
build_template "$LPZ_SOURCE_DIR/sdk/template-network" "$work/my_network"
pdir="$work/my_network/build"

# Step 1: the plugin's lines of `lpz plugins -v --plugin-dir build`, as quoted.
"$LPZ" plugins -v --plugin-dir "$pdir" > "$work/plugins.txt" 2>&1 || { cat "$work/plugins.txt"; fail "lpz plugins"; }
sed -n '/^networks:$/,/^```$/p' "$howto" | grep -E '^  residual_mlp|^      option ' > "$work/quoted.txt"
[ "$(wc -l < "$work/quoted.txt")" -ge 3 ] || fail "the how-to no longer quotes lpz plugins -v"
while IFS= read -r line; do
  grep -qxF -- "$line" "$work/plugins.txt" || { cat "$work/plugins.txt"; fail "lpz plugins -v does not print: $line"; }
done < "$work/quoted.txt"

# Step 7: the run file of the page.
cd "$work"
sed -n '/^# my_run.yml$/,/^```$/p' "$howto" | sed '$d' > my_run.yml
grep -q "name: residual_mlp" my_run.yml || fail "no run file extracted from $howto"
"$LPZ" config --plugin-dir "$pdir" -f my_run.yml > config.txt 2>&1 || { cat config.txt; fail "lpz config"; }
grep -q '^  hidden: "128"  # plugin option, my_run.yml:16:11$' config.txt || { cat config.txt; fail "lpz config"; }
"$LPZ" train --plugin-dir "$pdir" -f my_run.yml > train.txt 2>&1 || { cat train.txt; fail "lpz train"; }
grep -q "^best mixture: .*/master/0$" train.txt || { cat train.txt; fail "no best mixture"; }
run=$(run_dir output)
g="$run/master/0/generator-0.safetensors"
[ -f "$g" ] || fail "no $g"
head -c 4096 "$g" | grep -aq '"network":"residual_mlp"' || fail "the model file does not name the plugin"
head -c 4096 "$g" | grep -aq '"2.fc1.weight"' || fail "the model file lacks the residual block's 2.fc1.weight"
"$LPZ" generate --plugin-dir "$pdir" -f my_run.yml --mixture-source "$run/master/0" -o samples > gen.txt 2>&1 ||
  { cat gen.txt; fail "lpz generate"; }
[ -f samples/grid.png ] && [ -f samples/samples.npy ] && ls samples/samples/*.png > /dev/null 2>&1 ||
  { ls -R samples; fail "lpz generate wrote no samples"; }

# The errors the page quotes: a range its configure refuses, and no --plugin-dir.
quoted=$(grep -m 1 '^lpz: error: network residual_mlp: my_run.yml:16:11: network.hidden:' "$howto") ||
  fail "the how-to no longer quotes the hidden: 0 error"
sed 's/^  hidden: 128 /  hidden: 0   /' my_run.yml > bad.yml
mv bad.yml my_run.yml
if "$LPZ" train -q --plugin-dir "$pdir" -f my_run.yml > bad.txt 2>&1; then fail "hidden: 0 was accepted"; fi
grep -qxF -- "$quoted" bad.txt ||
  { cat bad.txt; echo "quoted: $quoted"; fail "the hidden: 0 error differs from the how-to"; }
if "$LPZ" config -f my_run.yml > none.txt 2>&1; then fail "lpz config found residual_mlp without --plugin-dir"; fi
grep -q "^lpz: error: my_run.yml:14:9: network.name: no network plugin named 'residual_mlp' (searched " none.txt ||
  { cat none.txt; fail "the missing-plugin error differs from the how-to"; }
echo "docs/howto/add-a-network.md: template built, listed, trained ($run) and sampled as the page says"
