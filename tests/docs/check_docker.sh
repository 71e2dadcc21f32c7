#!/usr/bin/env bash
# tests/docs/check_docker.sh LPZ SOURCE_DIR
# The container files without a container engine: the entry point maps the
# original's environment variables (role, config_file, port) to the right
# lpz command line (checked with a stand-in lpz that prints its arguments),
# refuses an unknown role with status 2, and the compose run file is a
# valid lpz configuration with the four clients the compose file defines.
set -euo pipefail
lpz=$1 src=$2
d=$src/tools/docker
tmp=$(mktemp -d /tmp/lpz-test-docker-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
printf '#!/bin/sh\necho "lpz $*"\n' >"$tmp/lpz"
chmod +x "$tmp/lpz"
run() { env -i PATH="$tmp:/usr/bin:/bin" "$@" sh "$d/entrypoint.sh" --set a.b=1; }

out=$(run role=master config_file=/c.yml)
[ "$out" = "lpz train --distributed --master -f /c.yml --set a.b=1" ] || fail "master: $out"
out=$(run role=client port=5003)
[ "$out" = "lpz train --distributed --client --port 5003 --set a.b=1" ] || fail "client: $out"
out=$(run role=client)
[ "$out" = "lpz train --distributed --client --port 5000 --set a.b=1" ] || fail "client default port: $out"
out=$(run role=local config_file=/q.yml)
[ "$out" = "lpz train -f /q.yml --set a.b=1" ] || fail "local: $out"
rc=0; run role=bogus 2>/dev/null || rc=$?
[ "$rc" = 2 ] || fail "unknown role: exit $rc, expected 2"
rc=0; run role=master 2>/dev/null || rc=$?
[ "$rc" != 0 ] || fail "master without config_file succeeded"
echo "ok: entrypoint"

"$lpz" config -f "$d/distributed-2x2.yml" >"$tmp/resolved.yml"
for i in 1 2 3 4; do
  grep -q "address: \"client-$i\", port: 5000" "$tmp/resolved.yml" || fail "client-$i missing from the run file"
  grep -qE "^  client-$i:" "$d/compose.yml" || fail "service client-$i missing from compose.yml"
done
grep -qE "^  master:" "$d/compose.yml" || fail "service master missing from compose.yml"
grep -q "^FROM debian:12" "$d/Dockerfile" || fail "Dockerfile is not based on Debian 12"
# lpz never runs as root: the entry point drops to the image's user (or the results folder's owner) with setpriv
grep -q "useradd --create-home --uid 1000 lpz" "$d/Dockerfile" || fail "Dockerfile does not create the user lpz"
grep -q '^  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups' "$d/entrypoint.sh" \
  || fail "the entry point does not drop root with setpriv"
echo PASS
