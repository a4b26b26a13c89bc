# shellcheck shell=bash
# What the scripts that do one task on this node's server and hand back one result share
# (role-password.sh, server-log.sh, top-queries.sh): errexit everywhere, PostgreSQL's connection
# settings exported for psql run as postgres, standard output kept for the result line alone (fd 3;
# anything else a command prints goes to standard error), and fail, which ends the script with one
# line saying why.
# From the header: TASK, PGPORT, PGAPPNAME, PGOPTIONS.
set -euo pipefail
shopt -s inherit_errexit
# PostgreSQL tools run as postgres, which may not read the directory the agent starts in.
cd /
# runuser keeps the environment, and with it these.
export PGPORT PGAPPNAME PGOPTIONS
exec 3>&1 1>&2

fail() {
  printf 'cloudseed %s: %s\n' "$TASK" "$*" >&2
  exit 1
}
