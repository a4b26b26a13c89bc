# shellcheck shell=bash
# shellcheck disable=SC2153 # OBJECT and RESTORED_SHA256 are set by the files sent before this one
# Checks the stored object's sha256, restores it into a new database (hashing it again on the way),
# analyzes it, and swaps it in under the application database's name: new sessions are refused, the
# open ones ended, and both renames happen in one transaction, so clients see the old contents or the
# new ones and a failed restore leaves the application database as it was. The replaced database is
# dropped. Everything restored is created by the application role, logged in as itself (--no-owner),
# so it owns the tables whatever roles owned them when the dump was made.
# From the header: DATABASE, SWAP_DEADLINE_SECONDS (past it, the restore gives up rather than swap).
STARTED_MS="$(date +%s%3N)"
take_lock
INCOMING=''
CONNECTIONS_CLOSED=''
finish() {
  local status=$?
  trap - EXIT
  if [ -n "$CONNECTIONS_CLOSED" ]; then
    sql -d postgres -v db="$DATABASE" <<<'ALTER DATABASE :"db" ALLOW_CONNECTIONS true;' || echo "could not open database $DATABASE to connections again" >&2
  fi
  # After the swap the incoming database has the application database's name: this drops nothing then.
  if [ -n "$INCOMING" ]; then drop_database "$INCOMING" || echo "could not drop $INCOMING" >&2; fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT
database_exists() { [ "$(sql -d postgres -v name="$1" <<<"SELECT count(*) FROM pg_catalog.pg_database WHERE datname = :'name';")" = 1 ]; }

drop_leftovers
STORED_SHA256="$(stored_sha256)"
[ "$STORED_SHA256" = "$RECORDED_SHA256" ] || fail "$(mismatch "$STORED_SHA256"); nothing was restored"

SUFFIX="$(random_suffix)"
INCOMING="cloudseed_restore_$SUFFIX"
REPLACED="cloudseed_replaced_$SUFFIX"
create_database "$INCOMING"
restore_into "$INCOMING"
[ -z "$RESTORE_ERROR" ] || fail "pg_restore failed: $RESTORE_ERROR; $DATABASE was left as it was"
[ "$RESTORED_SHA256" = "$RECORDED_SHA256" ] || fail "$(mismatch "$RESTORED_SHA256"); $DATABASE was left as it was"
# pg_restore brings no planner statistics; the application should not start without them. The tenant's
# index and statistics expressions run as the table owner in a security-restricted operation.
sql -d "$INCOMING" <<<'ANALYZE;'
if [ $(($(date +%s%3N) - STARTED_MS)) -gt $((SWAP_DEADLINE_SECONDS * 1000)) ]; then
  fail "the restore took longer than $SWAP_DEADLINE_SECONDS s, too close to its time limit to swap the databases safely; $DATABASE was left as it was"
fi

if database_exists "$DATABASE"; then
  # From here on new sessions are refused, so the ones ended now cannot be replaced before the rename.
  CONNECTIONS_CLOSED=1
  sql -d postgres -v db="$DATABASE" <<<'ALTER DATABASE :"db" ALLOW_CONNECTIONS false;'
  SWAPPED=''
  for _ in 1 2 3; do
    if sql -d postgres -v db="$DATABASE" -v incoming="$INCOMING" -v replaced="$REPLACED" >/dev/null 2>"$WORK/swap.err" <<'SQL'; then
SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE datname = :'db' AND pid <> pg_catalog.pg_backend_pid();
BEGIN;
ALTER DATABASE :"db" RENAME TO :"replaced";
ALTER DATABASE :"incoming" RENAME TO :"db";
COMMIT;
SQL
      SWAPPED=1
      break
    fi
    # A terminated session can take a moment to go.
    sleep 2
  done
  [ -n "$SWAPPED" ] || fail "could not swap the restored database in: $(tail_of "$WORK/swap.err"); $DATABASE was left as it was"
  INCOMING=''
  CONNECTIONS_CLOSED=''
  drop_database "$REPLACED" || fail "the backup was restored into $DATABASE, but the database it replaced ($REPLACED) could not be dropped"
else
  sql -d postgres -v db="$DATABASE" -v incoming="$INCOMING" <<<'ALTER DATABASE :"incoming" RENAME TO :"db";'
  INCOMING=''
fi
report_status "{\"status\":\"restored\",\"sha256\":\"$RESTORED_SHA256\"}"
