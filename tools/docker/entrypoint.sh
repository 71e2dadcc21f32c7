#!/bin/sh
# tools/docker/entrypoint.sh - the container's entry point. Takes the
# environment variables of the original Lipizzaner image:
#   role=master       lpz train --distributed --master -f "$config_file"
#   role=client       lpz train --distributed --client --port "$port"
#   role=local        lpz train -f "$config_file"   (the whole grid in this container)
#   config_file=FILE  the run file (master and local)
#   port=PORT         the client's port (default 5000)
# Arguments after the image name are passed on to lpz, e.g. --set keys:
#   docker run ... lpz --set trainer.n_iterations=2
#
# The image starts as root only to make the results folder writable, then
# runs lpz as an ordinary user (setpriv): a folder the engine created for
# a bind mount (root's) is given to the image's user lpz; a host folder
# that belongs to someone is written as its owner, so the results on the
# host are the owner's files. (With docker run --user, none of this runs.)
set -eu
out=/home/lpz/output
if [ "$(id -u)" = 0 ] && id lpz >/dev/null 2>&1; then
  uid=$(id -u lpz) gid=$(id -g lpz)
  if [ -d "$out" ]; then
    owner=$(stat -c %u "$out") group=$(stat -c %g "$out")
    if [ "$owner" = 0 ]; then
      chown lpz:lpz "$out"
    else
      uid=$owner gid=$group
    fi
  fi
  exec setpriv --reuid="$uid" --regid="$gid" --clear-groups env HOME=/home/lpz "$0" "$@"
fi
role=${role:-local}
port=${port:-5000}
case "$role" in
  master)
    : "${config_file:?set config_file to the run file (e.g. -e config_file=/config/run.yml)}"
    exec lpz train --distributed --master -f "$config_file" "$@" ;;
  client)
    exec lpz train --distributed --client --port "$port" "$@" ;;
  local)
    : "${config_file:?set config_file to the run file}"
    exec lpz train -f "$config_file" "$@" ;;
  *)
    echo "lpz-entrypoint: error: role='$role' (expected master, client or local)" >&2
    exit 2 ;;
esac
