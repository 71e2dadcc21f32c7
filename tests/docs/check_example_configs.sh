#!/usr/bin/env bash
# tests/docs/check_example_configs.sh LPZ SOURCE_DIR
# Every ready-to-run file under configuration/ (README.md and the docs point
# users at them) passes `lpz config -f FILE`: keys, types, the rules across
# keys, and the options of the plugins it names (which the config unit
# tests do not load). A file that another one pulls in with `!include`
# (lipizzaner-gan/general.yml) is a fragment, not a run file, and is
# checked through the files that include it. Fails naming each file and
# lpz's error.
set -euo pipefail
lpz=$1 src=$2
bad=0 n=0
while IFS= read -r f; do
  dir=$(dirname "$f")
  base=$(basename "$f")
  if grep -qsE "!include +[\"']?$base[\"']? *(#.*)?$" "$dir"/*.yml "$dir"/*.yaml 2>/dev/null; then
    continue
  fi
  n=$((n + 1))
  if ! out=$("$lpz" config -q -f "$f" 2>&1 >/dev/null); then
    echo "FAIL: lpz config -f ${f#"$src"/}: $out"
    bad=1
  fi
done < <(find "$src/configuration" -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
[ "$n" -gt 0 ] || { echo "FAIL: no run files found under $src/configuration"; exit 1; }
echo "$n run files checked"
if [ "$bad" != 0 ]; then
  echo "FAIL: a file in configuration/ does not pass lpz config (see above)"
  exit 1
fi
echo PASS
