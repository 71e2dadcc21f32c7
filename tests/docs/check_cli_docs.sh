#!/usr/bin/env bash
# tests/docs/check_cli_docs.sh LPZ CLI_MD
# docs/cli.md documents every command and every flag: for each command that
# `lpz --help` lists, every option that `lpz <command> --help` prints (long
# --name and short -x) must appear in that command's section of cli.md
# (from "## `lpz <command>`" to the next "## "), and --version/--help in the
# page. The usage line of each command's --help must be a line of its section
# (the synopsis block), and every option of "options for every command" in
# `lpz --help` must be in the section "## Options of every command". Fails
# listing what is missing.
set -euo pipefail
lpz=$1 doc=$2
[ -f "$doc" ] || { echo "FAIL: $doc does not exist"; exit 1; }
missing=0

commands=$("$lpz" --help | awk '/^commands:/{on=1; next} on && /^$/{exit} on {print $1}')
[ -n "$commands" ] || { echo "FAIL: no commands found in 'lpz --help'"; exit 1; }

for flag in --version --help; do
  grep -qF -- "\`$flag\`" "$doc" || { echo "MISSING in $doc: $flag"; missing=1; }
done

common=$(awk '/^## Options of every command/{on=1; next} on && /^## /{exit} on {print}' "$doc")
[ -n "$common" ] || { echo "MISSING in $doc: a section '## Options of every command'"; missing=1; }
for f in $("$lpz" --help | awk '/^options for every command:/{on=1; next} on && /^$/{exit} on' |
           grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '-[a-zA-Z]\b|--[a-z][a-z0-9-]*'); do
  if ! grep -qE -- "\`$f( [^\`]*)?\`" <<<"$common"; then
    echo "MISSING in $doc, section Options of every command: $f"
    missing=1
  fi
done

for cmd in $commands; do
  section=$(awk -v h="## \`lpz $cmd\`" '$0 == h {on=1; next} on && /^## /{exit} on {print}' "$doc")
  if [ -z "$section" ]; then
    echo "MISSING in $doc: a section '## \`lpz $cmd\`'"
    missing=1
    continue
  fi
  # Options are the lines after "options:"; their first column holds -x, --name.
  flags=$("$lpz" "$cmd" --help | awk '/^options:/{on=1; next} on' |
          grep -oE '^ +(-[a-zA-Z], )?--[a-z][a-z0-9-]*' | grep -oE -- '-[a-zA-Z]\b|--[a-z][a-z0-9-]*' || true)
  [ -n "$flags" ] || { echo "FAIL: 'lpz $cmd --help' prints no options"; exit 1; }
  usage=$("$lpz" "$cmd" --help | sed -n 's/^usage: //p' | head -n 1)
  if [ -z "$usage" ] || ! grep -qxF -- "$usage" <<<"$section"; then
    echo "MISSING in $doc, section lpz $cmd: the usage line '$usage' of 'lpz $cmd --help'"
    missing=1
  fi
  n=0
  for f in $flags; do
    n=$((n + 1))
    # The flag in backticks, alone or followed by its metavariable.
    if ! grep -qE -- "\`$f( [^\`]*)?\`" <<<"$section"; then
      echo "MISSING in $doc, section lpz $cmd: $f"
      missing=1
    fi
  done
  echo "lpz $cmd: $n flags checked"
done
if [ "$missing" != 0 ]; then
  echo "FAIL: docs/cli.md is incomplete (see above)"
  exit 1
fi
echo PASS
