# shellcheck shell=bash
# The application's top statements from pg_stat_statements, or a reset of their counts, on this
# node's server (the primary): makes the extension in CloudSeed's own schema where it is missing
# (ENABLE_SQL refuses a schema of that name the application made), checks that it lives there
# (SCHEMA_SQL), then runs QUERY_SQL in the application database and hands its JSON to the provider,
# gzip'd and in base64. The statements come from shared/src/metrics/queries.ts, as the local cloud's.
# Sent after task-helpers.sh (errexit, fail, the result on fd 3).
# From the header: TASK, PG_BIN, PGPORT, PGAPPNAME, PGOPTIONS, RESULT_MARKER, DATABASE, ENABLE_SQL,
# SCHEMA_SQL, EXPECTED_SCHEMA, QUERY_SQL, MAX_RESULT_CHARS.
sql() { runuser -u postgres -- "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -d "$DATABASE"; }

printf 'SET client_min_messages = warning;\n%s\n' "$ENABLE_SQL" | sql || fail "pg_stat_statements could not be made in schema ${EXPECTED_SCHEMA%%|*} of $DATABASE"
schema="$(printf '%s\n' "$SCHEMA_SQL" | sql)"
[ "$schema" = "$EXPECTED_SCHEMA" ] || fail "pg_stat_statements lives in schema ${schema%%|*}, not in CloudSeed's ${EXPECTED_SCHEMA%%|*}"
encoded="$(printf '%s\n' "$QUERY_SQL" | sql | gzip -9 | base64 -w 0)"
((${#encoded} <= MAX_RESULT_CHARS)) || fail "the answer is too long for the command channel; ask for fewer statements"
report_status "{\"result\":\"$encoded\"}"
