#!/usr/bin/env bash
# LPZ_PLUGIN_DEFINE refuses, at compile time (C11), a kind that does not
# match the function table's type, either way: a network declared with a
# dataloader's table compiled, was listed as a network, and had its open
# called as configure. The matching kinds compile -Wall -Wextra -Wpedantic
# clean.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
CC=${CC:-cc}
src() { # KIND
  cat <<SRC
#include <lpz/lpz.h>
static int cf(const lpz_network_context *c, void **s, lpz_shape *l, lpz_error *e)
{
    (void)c, (void)s, (void)l, (void)e;
    return 0;
}
static int b(void *s, lpz_role r, lpz_model *m, lpz_error *e)
{
    (void)s, (void)r, (void)m, (void)e;
    return 0;
}
static const lpz_network_ops nops = {sizeof nops, cf, 0, b, 0};
static int o(const lpz_dataset_context *c, void **s, lpz_dataset_info *i, lpz_error *e)
{
    (void)c, (void)s, (void)i, (void)e;
    return 0;
}
static void cl(void *s) { (void)s; }
static int r(void *s, int64_t i, float *out, lpz_error *e)
{
    (void)s, (void)i, (void)out, (void)e;
    return 0;
}
static const lpz_dataloader_ops ops = {.size = sizeof ops, .open = o, .close = cl, .read = r};
LPZ_PLUGIN_DEFINE($1, "kind_check", NULL, "1", "test", NULL, $2);
SRC
}
flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$LPZ_SOURCE_DIR/sdk/include")
for ok in "LPZ_PLUGIN_DATALOADER &ops" "LPZ_PLUGIN_NETWORK &nops"; do
  src $ok > "$work/ok.c"
  "$CC" "${flags[@]}" "$work/ok.c" 2> "$work/ok.err" || fail "$ok does not compile: $(cat "$work/ok.err")"
done
for bad in "LPZ_PLUGIN_NETWORK &ops" "LPZ_PLUGIN_DATALOADER &nops"; do
  src $bad > "$work/bad.c"
  "$CC" "${flags[@]}" "$work/bad.c" 2> "$work/bad.err" && fail "$bad compiled"
  grep -q "the kind does not match the function table" "$work/bad.err" || fail "$bad: unclear error: $(cat "$work/bad.err")"
done
echo "PASS"
