# shellcheck shell=bash
# shellcheck disable=SC2153 # OBJECT and RESTORED_SHA256 are set by the files sent before this one
# pg_dump of the application database streamed to the object, the globals beside it, and the manifest
# with every table's fingerprint. A session exports its snapshot to pg_dump and holds an ACCESS SHARE
# lock on every table until the dump is done, so no table can be dropped, truncated or rewritten
# between the snapshot and pg_dump's own locks; the tables are fingerprinted in that snapshot while
# pg_dump runs. On any failure what reached the bucket is removed and the script's sessions are ended.
# From the header: DATABASE.
STARTED_MS="$(date +%s%3N)"
take_lock
SESSION_IN=''
finish() {
  local status=$?
  trap - EXIT
  if [ -n "$SESSION_IN" ]; then exec {SESSION_IN}>&-; fi
  if [ "$status" -ne 0 ]; then
    # pg_dump and the fingerprints may still be reading: end every session of this run.
    sql -d postgres <<'SQL' >/dev/null 2>&1 || true
SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE application_name = pg_catalog.current_setting('application_name') AND pid <> pg_catalog.pg_backend_pid();
SQL
    for object in "$OBJECT" "$OBJECT$GLOBALS_SUFFIX" "$OBJECT$MANIFEST_SUFFIX" "$OBJECT$VALIDATION_SUFFIX"; do
      object_remove "$object" || echo "could not remove $object" >&2
    done
    echo "cloudseed backup: failed; removed what it had stored under $OBJECT" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

# The snapshot: exported by a session that locks every table it lists and stays open until the end.
coproc SESSION { sql -d "$DATABASE" -v "user_tables_from=$USER_TABLES_FROM" 2>"$WORK/session.err"; }
# shellcheck disable=SC2153 # coproc sets SESSION_PID
SESSION_PROCESS=$SESSION_PID
SESSION_IN=${SESSION[1]}
SESSION_OUT=${SESSION[0]}
cat >&"$SESSION_IN" <<'SQL'
SET lock_timeout = '60s';
SET statement_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT pg_catalog.pg_export_snapshot(), pg_catalog.to_json(pg_catalog.current_setting('server_version')), pg_catalog.pg_database_size(pg_catalog.current_database());
SELECT 'LOCK TABLE ' || pg_catalog.string_agg(pg_catalog.format('ONLY %I.%I', n.nspname, c.relname), ', ') || ' IN ACCESS SHARE MODE'
:user_tables_from
HAVING count(*) > 0
\gexec
\echo CLOUDSEED_LOCKED
SQL
if ! IFS='|' read -r -t 600 SNAPSHOT_ID SERVER_VERSION DATABASE_SIZE <&"$SESSION_OUT"; then
  fail "could not open a snapshot of database $DATABASE: $(tail_of "$WORK/session.err")"
fi
[[ $SNAPSHOT_ID =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || fail "the server exported an unexpected snapshot id: $SNAPSHOT_ID"
[[ $DATABASE_SIZE =~ ^[0-9]+$ ]] || fail "unexpected size of database $DATABASE: $DATABASE_SIZE"
LOCKED=''
read -r -t 600 LOCKED <&"$SESSION_OUT" || true
[ "$LOCKED" = CLOUDSEED_LOCKED ] || fail "could not lock the tables of database $DATABASE: $(tail_of "$WORK/session.err")"

if ! as_postgres pg_dumpall --globals-only 2>"$WORK/globals.err" | object_put "$OBJECT$GLOBALS_SUFFIX" application/sql; then
  fail "could not store the globals (pg_dumpall --globals-only) in $OBJECT$GLOBALS_SUFFIX: $(tail_of "$WORK/globals.err")"
fi

fingerprint_tables "$DATABASE" "$SNAPSHOT_ID" >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &
FINGERPRINTS_PID=$!

# The dump streams to the bucket while it is hashed and counted. --expected-size (the database size,
# more than the compressed dump) lets the CLI pick parts large enough for a stream above 50 GB.
mkfifo "$WORK/dump.sha256" "$WORK/dump.size"
sha256sum <"$WORK/dump.sha256" >"$WORK/dump.sha256.out" &
SHA_PID=$!
wc -c <"$WORK/dump.size" >"$WORK/dump.size.out" &
SIZE_PID=$!
set +e
as_postgres pg_dump --format=custom --snapshot="$SNAPSHOT_ID" --lock-wait-timeout=60s --dbname="$DATABASE" 2>"$WORK/pg_dump.err" \
  | tee "$WORK/dump.sha256" "$WORK/dump.size" \
  | object_put "$OBJECT" application/octet-stream --expected-size "$DATABASE_SIZE"
DUMP_STATUS=("${PIPESTATUS[@]}")
set -e
wait "$SHA_PID"
wait "$SIZE_PID"
# An upload that fails breaks pg_dump's pipe; a pg_dump that fails ends the upload early: name the first cause.
[ "${DUMP_STATUS[2]}" -eq 0 ] || fail "uploading the dump to $OBJECT failed"
[ "${DUMP_STATUS[0]}" -eq 0 ] || fail "pg_dump failed: $(tail_of "$WORK/pg_dump.err")"
[ "${DUMP_STATUS[1]}" -eq 0 ] || fail "could not hash the dump on its way to the object store"
wait "$FINGERPRINTS_PID" || fail "fingerprinting the tables in the dump's snapshot failed: $(tail_of "$WORK/fingerprints.err")"
exec {SESSION_IN}>&-
SESSION_IN=''
wait "$SESSION_PROCESS" || true

SHA256="$(cut -d ' ' -f 1 "$WORK/dump.sha256.out")"
SIZE_BYTES="$(tr -d ' ' <"$WORK/dump.size.out")"
TABLE_COUNT="$(wc -l <"$WORK/tables.json")"
DURATION_MS=$(($(date +%s%3N) - STARTED_MS))
SUMMARY="\"sizeBytes\":$SIZE_BYTES,\"sha256\":\"$SHA256\",\"durationMs\":$DURATION_MS,\"serverVersion\":$SERVER_VERSION"
if ! { printf '{%s,"tables":[' "$SUMMARY"; paste -s -d , "$WORK/tables.json"; printf ']}\n'; } \
  | object_put "$OBJECT$MANIFEST_SUFFIX" application/json; then
  fail "could not store the manifest in $OBJECT$MANIFEST_SUFFIX"
fi
report_status "{$SUMMARY,\"tableCount\":$TABLE_COUNT}"
