#!/usr/bin/env bash
# tests/docs/check_sdk_docs.sh SOURCE_DIR [LIBLPZ]
# docs/sdk.md is the reference of the whole SDK: every function
# (LPZ_API and static inline), every type (typedef), every enum constant
# and every public macro of sdk/include/lpz/*.h, and every field of the
# SDK's structs, must be named in it (in backticks or in a C declaration).
# With LIBLPZ (the built liblpz.so): every function it exports is declared
# LPZ_API in a header (lpz_version was exported and in no header).
set -euo pipefail
src=$1
doc=$src/docs/sdk.md
[ -f "$doc" ] || { echo "FAIL: $doc does not exist"; exit 1; }
missing=0 n=0
need() { # name what
  n=$((n + 1))
  grep -qE "(^|[^A-Za-z0-9_])$1([^A-Za-z0-9_]|$)" "$doc" || { echo "MISSING in docs/sdk.md: $2 $1"; missing=1; }
}
for h in "$src"/sdk/include/lpz/*.h; do
  # Functions: the identifier before "(" on LPZ_API and static inline lines.
  for f in $(grep -hE '^(LPZ_API|static inline)' "$h" | grep -oE '[a-z_][a-z0-9_]*\(' | tr -d '(' | grep '^lpz_'); do
    need "$f" "function"
  done
  for t in $(grep -hoE '^typedef (struct|enum) [a-z_0-9]+' "$h" | awk '{print $3}'); do need "$t" "type"; done
  for t in $(grep -hoE '^typedef [^;(]*\(\*[a-z_0-9]+\)' "$h" | grep -oE '[a-z_0-9]+\)$' | tr -d ')'); do
    need "$t" "type"
  done
  for c in $(grep -hoE '^ +LPZ_[A-Z0-9_]+ = ' "$h" | awk '{print $1}'); do need "$c" "constant"; done
  for m in $(grep -hoE '^#define LPZ_[A-Z0-9_]+' "$h" | awk '{print $2}' | grep -vE '_H$'); do need "$m" "macro"; done
  # Fields: "    type name;" lines inside typedef struct { ... } blocks.
  for fld in $(awk '/^typedef struct [a-z_0-9]+ \{/{on=1; next} on && /^\}/{on=0} on' "$h" |
               grep -oE '[A-Za-z_][A-Za-z0-9_]*(\[[A-Z0-9_]+\])?;' | sed -E 's/\[.*//; s/;//'); do
    need "$fld" "field"
  done
  for fld in $(awk '/^typedef struct [a-z_0-9]+ \{/{on=1; next} on && /^\}/{on=0} on' "$h" |
               grep -oE '\(\*[a-z_0-9]+\)' | tr -d '(*)'); do
    need "$fld" "function-table field"
  done
done
if [ $# -ge 2 ]; then
  declared=$(grep -hE '^LPZ_API' "$src"/sdk/include/lpz/*.h | grep -oE 'lpz_[a-z0-9_]*\(' | tr -d '(' | sort -u)
  for f in $(nm -D --defined-only "$2" | awk '$2 == "T" && $3 ~ /^lpz_/ {print $3}'); do
    n=$((n + 1))
    grep -qx "$f" <<< "$declared" || { echo "EXPORTED by $2 but declared in no SDK header: $f"; missing=1; }
  done
fi
echo "$n SDK names checked"
[ "$missing" = 0 ] || { echo "FAIL: docs/sdk.md is incomplete (see above)"; exit 1; }
echo PASS
