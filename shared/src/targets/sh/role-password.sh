# shellcheck shell=bash
# Sets one of the plan's roles' password on this node's server (the primary) to the SCRAM verifier
# the API computed: PASSWORD_SQL (shared/src/postgres/access.ts) refuses a role CloudSeed does not
# manage. The password itself never reaches the node.
# From the header: TASK, PG_BIN, PGPORT, PGAPPNAME, PGOPTIONS, RESULT_MARKER, ROLE, PASSWORD_SQL.
set -euo pipefail
shopt -s inherit_errexit
cd /
export PGPORT PGAPPNAME PGOPTIONS
exec 3>&1 1>&2

fail() {
  printf 'cloudseed %s: %s\n' "$TASK" "$*" >&2
  exit 1
}

if ! out="$(printf '%s\n' "$PASSWORD_SQL" | runuser -u postgres -- "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres 2>&1)"; then
  if [[ "$out" == *cloudseed_role_not_managed* ]]; then fail "role $ROLE is not one of the plan's roles here: deploy the plan with it first"; fi
  fail "the password of $ROLE could not be set: $out"
fi
report_status '{"result":"set"}'
