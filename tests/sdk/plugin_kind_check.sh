#!/usr/bin/env bash
# LPZ_PLUGIN_DEFINE refuses, at compile time (C11), a kind that does not
# match the function table's type: a network declared with a dataloader's
# table compiled, was listed as a network, and had its open called as
# configure. The matching kind compiles, and so does the check with
# -Wall -Wextra -Wpedantic clean.
set -euo pipefail
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
CC=${CC:-cc}
src() { # KIND
  cat <<SRC
#include <lpz/lpz.h>
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
static const lpz_dataloader_ops ops = {sizeof ops, o, cl, r, NULL, NULL, NULL, NULL};
LPZ_PLUGIN_DEFINE($1, "kind_check", NULL, "1", "test", NULL, &ops);
SRC
}
flags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -I"$LPZ_SOURCE_DIR/sdk/include")
src LPZ_PLUGIN_DATALOADER > "$work/ok.c"
"$CC" "${flags[@]}" "$work/ok.c" 2> "$work/ok.err" || fail "the matching kind does not compile: $(cat "$work/ok.err")"
src LPZ_PLUGIN_NETWORK > "$work/bad.c"
"$CC" "${flags[@]}" "$work/bad.c" 2> "$work/bad.err" && fail "a network with a dataloader's table compiled"
grep -q "the kind does not match the function table" "$work/bad.err" || fail "unclear error: $(cat "$work/bad.err")"
echo "PASS"
