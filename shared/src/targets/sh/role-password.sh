# shellcheck shell=bash
# Sets one of the plan's roles' password on this node's server (the primary) to the SCRAM verifier
# the API computed: PASSWORD_SQL (shared/src/postgres/access.ts) refuses a role CloudSeed does not
# manage. The password itself never reaches the node.
# Sent after task-helpers.sh (errexit, fail, the result on fd 3).
# From the header: TASK, PG_BIN, PGPORT, PGAPPNAME, PGOPTIONS, RESULT_MARKER, ROLE, PASSWORD_SQL.

if ! out="$(printf '%s\n' "$PASSWORD_SQL" | runuser -u postgres -- "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d postgres 2>&1)"; then
  if [[ "$out" == *cloudseed_role_not_managed* ]]; then fail "role $ROLE is not one of the plan's roles here: deploy the plan with it first"; fi
  fail "the password of $ROLE could not be set: $out"
fi
report_status '{"result":"set"}'
