#!/usr/bin/env bash
# The SDK's templates build out of tree against an installed lpz (headers,
# liblpz and lpz.pc from `cmake --install --prefix`), install into the
# prefix's plugin folder, and `lpz plugins` of that install lists them:
# sdk/template (the dataloader toy_gaussians) and sdk/template-network (the
# network residual_mlp, whose gradient check `ctest` runs in its build
# folder). Training with the network template: network_template_train.sh.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
. "$LPZ_SOURCE_DIR/tests/sdk/sdk_common.sh"
prefix="$work/prefix"
install_sdk "$prefix"
plugindir=$(pkg-config --variable=plugindir lpz)

build_template "$LPZ_SOURCE_DIR/sdk/template" "$work/my_dataset"
cmake --install "$work/my_dataset/build" > /dev/null || fail "template install"
[ -f "$plugindir/toy_gaussians.so" ] || fail "toy_gaussians.so not in $plugindir"

build_template "$LPZ_SOURCE_DIR/sdk/template-network" "$work/my_network"
(cd "$work/my_network/build" && ctest -V > "$work/ctest.log" 2>&1) ||
  { cat "$work/ctest.log"; fail "the network template's gradcheck fails"; }
grep -q "derivatives of the residual block's model agree with finite differences" "$work/ctest.log" ||
  { cat "$work/ctest.log"; fail "ctest did not run the network template's gradcheck"; }
# (an ASan build adds its own __odr_asan.* marker)
nm -D --defined-only "$work/my_network/build/residual_mlp.so" | grep -vE ' (__odr_asan\.)?lpz_plugin_descriptor$' |
  grep -q ' [TDBR] ' && fail "residual_mlp.so exports more than lpz_plugin_descriptor"
cmake --install "$work/my_network/build" > /dev/null || fail "network template install"
[ -f "$plugindir/residual_mlp.so" ] || fail "residual_mlp.so not in $plugindir"
[ ! -e "$plugindir/residual_mlp_gradcheck" ] || fail "the gradcheck program was installed"

"$prefix/bin/lpz" --version > /dev/null || fail "the installed lpz does not run"
"$prefix/bin/lpz" plugins -v > "$work/plugins.txt" 2>&1
grep -q "toy_gaussians" "$work/plugins.txt" ||
  { cat "$work/plugins.txt"; fail "lpz plugins does not list the template"; }
grep -q "four_layer_perceptron" "$work/plugins.txt" || fail "the installed plugins are not found"
grep -q "^  residual_mlp  1.0.0  " "$work/plugins.txt" ||
  { cat "$work/plugins.txt"; fail "lpz plugins does not list the network template"; }
grep -q "option zero_init_residual (bool, default false)" "$work/plugins.txt" ||
  { cat "$work/plugins.txt"; fail "lpz plugins -v does not list the network template's options"; }
grep -qi "not usable" "$work/plugins.txt" && { cat "$work/plugins.txt"; fail "a plugin is not usable"; }
echo "sdk/template and sdk/template-network: built out of tree against $prefix and listed by lpz plugins"
