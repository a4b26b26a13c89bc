# shellcheck shell=bash
# shellcheck disable=SC2153 # OBJECT is set by backup-helpers.sh
# A pgBackRest backup of the primary, then the restore point its fingerprints belong to: one session
# locks every user table of the application database in SHARE mode (writers wait for that instant
# only), exports its snapshot and writes the restore point; a second session takes the snapshot over
# and holds it while the first commits; the tables are fingerprinted in it, and the WAL is switched
# and archived so that the restore point is in the repository. On any failure the backup set is
# expired again and the fingerprints are removed: a failed backup leaves nothing a restore could pick.
# From the header: DATABASE, BACKUP_TYPE (full | diff | incr), RESTORE_POINT, ARCHIVE_WAIT_SECONDS.
STARTED_MS="$(date +%s%3N)"
require_repository
take_lock
LABEL=''
LOCKER_IN=''
HOLDER_IN=''
finish() {
  local status=$?
  trap - EXIT
  if [ -n "$LOCKER_IN" ]; then exec {LOCKER_IN}>&-; fi
  if [ -n "$HOLDER_IN" ]; then exec {HOLDER_IN}>&-; fi
  if [ "$status" -ne 0 ]; then
    sql -d postgres <<'SQL' >/dev/null 2>&1 || true
SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE application_name = pg_catalog.current_setting('application_name') AND pid <> pg_catalog.pg_backend_pid();
SQL
    if [ -n "$LABEL" ]; then backrest expire --set="$LABEL" >&2 || echo "could not expire the backup set $LABEL" >&2; fi
    object_remove "$OBJECT" || echo "could not remove $OBJECT" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT

create_stanza "$WORK/stanza.out" || fail "pgbackrest stanza-create failed: $(tail_of "$WORK/stanza.out")"
BEFORE="$(newest_label)" || fail "pgbackrest info failed"
# A leader promoted moments ago has not written its new timeline into pg_control yet (the
# checkpoint after a promotion runs in the background); pgBackRest refuses to back it up until then.
sql -d postgres -c 'CHECKPOINT' >/dev/null 2>"$WORK/checkpoint.err" || fail "CHECKPOINT before the backup failed: $(tail_of "$WORK/checkpoint.err")"
backrest --type="$BACKUP_TYPE" backup >"$WORK/backup.out" 2>&1 || fail "pgbackrest backup failed: $(tail_of "$WORK/backup.out")"
NEWEST="$(newest_label)" || fail "pgbackrest info failed after the backup"
if [ -z "$NEWEST" ] || [ "$NEWEST" = "$BEFORE" ]; then fail "pgbackrest backup finished but the repository holds no new backup set"; fi
LABEL="$NEWEST"

# The locking session: the LOCK statement is built before the transaction, whose snapshot is taken
# only once the locks are held.
coproc LOCKER { sql -d "$DATABASE" -v "user_tables_from=$USER_TABLES_FROM" -v "restore_point=$RESTORE_POINT" 2>"$WORK/locker.err"; }
# shellcheck disable=SC2153 # coproc sets LOCKER_PID
LOCKER_PROCESS=$LOCKER_PID
LOCKER_IN=${LOCKER[1]}
LOCKER_OUT=${LOCKER[0]}
cat >&"$LOCKER_IN" <<'SQL'
SET lock_timeout = '60s';
SET statement_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SELECT COALESCE('LOCK TABLE ' || pg_catalog.string_agg(pg_catalog.format('ONLY %I.%I', n.nspname, c.relname), ', ') || ' IN SHARE MODE', 'SELECT NULL') AS lock_statement
:user_tables_from
\gset
BEGIN ISOLATION LEVEL REPEATABLE READ;
:lock_statement;
SELECT pg_catalog.pg_export_snapshot(), pg_catalog.pg_create_restore_point(:'restore_point'), pg_catalog.to_json(pg_catalog.current_setting('server_version'));
SQL
if ! IFS='|' read -r -t 120 LOCKED_SNAPSHOT RESTORE_LSN SERVER_VERSION <&"$LOCKER_OUT"; then
  fail "could not lock the tables of database $DATABASE for the restore point: $(tail_of "$WORK/locker.err")"
fi
[[ $LOCKED_SNAPSHOT =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || fail "the server exported an unexpected snapshot id: $LOCKED_SNAPSHOT"
[[ $RESTORE_LSN =~ ^[0-9A-F]+/[0-9A-F]+$ ]] || fail "the server wrote no restore point: $RESTORE_LSN"

# The holding session takes the snapshot over, and exports it again for the fingerprints.
coproc HOLDER { sql -d "$DATABASE" -v "snapshot=$LOCKED_SNAPSHOT" 2>"$WORK/holder.err"; }
# shellcheck disable=SC2153 # coproc sets HOLDER_PID
HOLDER_PROCESS=$HOLDER_PID
HOLDER_IN=${HOLDER[1]}
HOLDER_OUT=${HOLDER[0]}
cat >&"$HOLDER_IN" <<'SQL'
SET idle_in_transaction_session_timeout = 0;
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SET TRANSACTION SNAPSHOT :'snapshot';
SELECT pg_catalog.pg_export_snapshot();
SQL
if ! read -r -t 60 SNAPSHOT_ID <&"$HOLDER_OUT"; then
  fail "could not take over the snapshot of the restore point: $(tail_of "$WORK/holder.err")"
fi
[[ $SNAPSHOT_ID =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || fail "the server exported an unexpected snapshot id: $SNAPSHOT_ID"
# Writers go on.
echo 'COMMIT;' >&"$LOCKER_IN"
exec {LOCKER_IN}>&-
LOCKER_IN=''
wait "$LOCKER_PROCESS" || fail "the session that wrote the restore point failed: $(tail_of "$WORK/locker.err")"

fingerprint_tables "$DATABASE" "$SNAPSHOT_ID" >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &
wait "$!" || fail "fingerprinting the tables at the restore point failed: $(tail_of "$WORK/fingerprints.err")"
exec {HOLDER_IN}>&-
HOLDER_IN=''
wait "$HOLDER_PROCESS" || true

# The restore point's segment goes to the repository now, not at the next archive_timeout.
SWITCHED="$(sql -d postgres -c 'SELECT pg_catalog.pg_walfile_name(pg_catalog.pg_switch_wal())')"
[[ $SWITCHED =~ ^[0-9A-F]{24}$ ]] || fail "unexpected WAL file name $SWITCHED"
ARCHIVED=''
for _ in $(seq 1 "$ARCHIVE_WAIT_SECONDS"); do
  ARCHIVED="$(sql -d postgres -v "wal=$SWITCHED" <<<"SELECT COALESCE(last_archived_wal >= :'wal', false) FROM pg_catalog.pg_stat_archiver")"
  [ "$ARCHIVED" = t ] && break
  sleep 1
done
[ "$ARCHIVED" = t ] || fail "WAL segment $SWITCHED with the restore point was not archived within $ARCHIVE_WAIT_SECONDS s"

INFO="$(stanza_info "$LABEL")" || fail "pgbackrest info failed after the backup"
if ! { printf '{"tables":['; paste -s -d , "$WORK/tables.json"; printf ']}\n'; } | object_put "$OBJECT" application/json; then
  fail "could not store the fingerprints in $OBJECT"
fi
DURATION_MS=$(($(date +%s%3N) - STARTED_MS))
report_status "{\"label\":\"$LABEL\",\"restorePoint\":$(json_string "$RESTORE_POINT"),\"serverVersion\":$SERVER_VERSION,\"durationMs\":$DURATION_MS,\"bucket\":$(json_string "$BUCKET"),\"tableCount\":$(wc -l <"$WORK/tables.json"),\"info\":$INFO}"
