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
# Note: this version of lpz refuses --distributed (not implemented yet), so
# role=master and role=client exit with that message; role=local works.
set -eu
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
