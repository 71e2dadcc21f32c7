#!/usr/bin/env bash
# sdk/template builds out of tree against an installed lpz (headers,
# liblpz and lpz.pc from `cmake --install --prefix`), installs into the
# prefix's plugin folder, and `lpz plugins` of that install lists it.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
prefix="$work/prefix"
cmake --install "$LPZ_BUILD_DIR" --prefix "$prefix" > "$work/install.log" || fail "cmake --install failed"
pc=$(find "$prefix" -name lpz.pc | head -n 1)
[ -n "$pc" ] || fail "no lpz.pc installed"
[ -f "$prefix/include/lpz/lpz.h" ] || fail "SDK headers not installed"
export PKG_CONFIG_PATH="$(dirname "$pc")"
cmake -S "$LPZ_SOURCE_DIR/sdk/template" -B "$work/tb" > "$work/tb.log" || { cat "$work/tb.log"; fail "configure"; }
cmake --build "$work/tb" > "$work/tbb.log" 2>&1 || { cat "$work/tbb.log"; fail "build"; }
grep -qi "warning" "$work/tbb.log" && { cat "$work/tbb.log"; fail "the template builds with warnings"; }
cmake --install "$work/tb" > /dev/null || fail "template install"
plugindir=$(pkg-config --variable=plugindir lpz)
[ -f "$plugindir/toy_gaussians.so" ] || fail "toy_gaussians.so not in $plugindir"
"$prefix/bin/lpz" --version > /dev/null || fail "the installed lpz does not run"
"$prefix/bin/lpz" plugins > "$work/plugins.txt"
grep -q "toy_gaussians" "$work/plugins.txt" || { cat "$work/plugins.txt"; fail "lpz plugins does not list the template"; }
grep -q "four_layer_perceptron" "$work/plugins.txt" || fail "the installed plugins are not found"
echo "sdk/template: built out of tree against $prefix and listed by lpz plugins"
