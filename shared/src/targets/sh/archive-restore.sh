# shellcheck shell=bash
# Restores the primary in place to a point in time: stops PostgreSQL, has pgBackRest restore the data
# directory (--delta: only what differs is fetched) with recovery to the target and a promotion at
# it, starts PostgreSQL, and waits until it is out of recovery on its new timeline and a commit
# works. A failure after the stop leaves PostgreSQL stopped or in recovery: the reason says where.
# From the header: SERVICE, LOG_DIR, TARGET_TYPE (time | name), TARGET, TARGET_SET (a label, or
# empty to let pgBackRest pick the newest backup before the target), PROMOTE_TIMEOUT_SECONDS, HEARTBEAT_SQL,
# CLEAR_RECOVERY_SQL.
require_repository
take_lock
finish() {
  local status=$?
  trap - EXIT
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT
server_log() { tail_of "$(find "$LOG_DIR" -maxdepth 1 -type f -name 'postgresql*' -printf '%T@ %p\n' 2>/dev/null | sort -n | tail -n 1 | cut -d ' ' -f 2-)"; }

RESTORE_ARGS=(--delta --type="$TARGET_TYPE" --target="$TARGET" --target-action=promote)
if [ -n "$TARGET_SET" ]; then RESTORE_ARGS+=(--set="$TARGET_SET"); fi
# A restore point is reached on the timeline of its backup, whatever happened since.
if [ "$TARGET_TYPE" = name ]; then RESTORE_ARGS+=(--target-timeline=current); fi
systemctl stop "$SERVICE"
backrest restore "${RESTORE_ARGS[@]}" >"$WORK/restore.out" 2>&1 \
  || fail "pgbackrest restore failed; PostgreSQL is stopped: $(tail_of "$WORK/restore.out")"
systemctl start "$SERVICE" || fail "PostgreSQL did not start after the restore: $(server_log)"
PROMOTED=''
for _ in $(seq 1 "$PROMOTE_TIMEOUT_SECONDS"); do
  PROMOTED="$(sql -d postgres -c 'SELECT NOT pg_catalog.pg_is_in_recovery()' 2>/dev/null || true)"
  [ "$PROMOTED" = t ] && break
  sleep 1
done
[ "$PROMOTED" = t ] || fail "PostgreSQL did not leave recovery within $PROMOTE_TIMEOUT_SECONDS s of the restore: $(server_log)"
# The recovery settings pgBackRest wrote go: a replica cloned with them would promote itself.
sql -d postgres <<<"$CLEAR_RECOVERY_SQL" >/dev/null || fail "PostgreSQL is promoted but its recovery settings could not be cleared"
# A commit works: the heartbeat's own.
sql -d postgres <<<"$HEARTBEAT_SQL" >/dev/null || fail "PostgreSQL is out of recovery but a commit failed"
TIMELINE="$(sql -d postgres -c 'SELECT pg_catalog.substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8)')"
[[ $TIMELINE =~ ^[0-9A-F]{8}$ ]] || fail "unexpected WAL file name prefix $TIMELINE"
report_status "{\"status\":\"restored\",\"timeline\":$((16#$TIMELINE))}"
