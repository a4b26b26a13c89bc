# shellcheck shell=bash
# shellcheck disable=SC2153 # OBJECT is set by backup-helpers.sh
# Proves a backup set on the primary itself, without touching its server: restores the set into a
# scratch data directory, replays WAL to the backup's restore point and promotes it, starts it as
# postgres on its own port and socket with archiving off, fingerprints the application database and
# stores the fingerprints beside the recorded ones, then runs `pgbackrest verify` over the repository.
# The scratch server is stopped and its directory removed however the script ends (a run SSM killed
# leaves it for the next run, which removes it first). A restore or a replay that fails is a result
# (failed), not an error; errors are what prevented checking.
# From the header: DATABASE, LABEL, RESTORE_POINT, SCRATCH_DIR, SCRATCH_PORT, START_TIMEOUT_SECONDS, VERIFY_LIMIT.
require_repository
take_lock
SCRATCH=''
stop_scratch() { as_postgres pg_ctl -D "$1" -m immediate -w stop >/dev/null 2>&1 || true; }
finish() {
  local status=$?
  trap - EXIT
  if [ -n "$SCRATCH" ]; then
    stop_scratch "$SCRATCH"
    rm -rf "$SCRATCH" || { echo "could not remove the scratch data directory $SCRATCH" >&2; status=1; }
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT
failed() {
  report_status "{\"status\":\"failed\",\"detail\":$(json_string "$1")}"
  exit 0
}

for leftover in "$(dirname "$SCRATCH_DIR")"/validate-*; do
  if [ -d "$leftover" ]; then
    stop_scratch "$leftover"
    rm -rf "$leftover"
  fi
done
install -d -m 0755 "$(dirname "$SCRATCH_DIR")"
install -d -o postgres -g postgres -m 0700 "$SCRATCH_DIR"
SCRATCH="$SCRATCH_DIR"

if ! backrest restore --set="$LABEL" --type=name --target="$RESTORE_POINT" --target-action=promote --archive-mode=off \
  --pg1-path="$SCRATCH" >"$WORK/restore.out" 2>&1; then
  failed "pgbackrest restore of backup set $LABEL failed: $(tail_of "$WORK/restore.out")"
fi
# The restored directory gets a server of its own: no network, its own socket, no TLS files, no
# archiving, recovery without hot standby (nothing connects before the promotion).
cat >"$SCRATCH/postgresql.conf" <<CONF
port = $SCRATCH_PORT
listen_addresses = ''
unix_socket_directories = '$SCRATCH'
archive_mode = off
hot_standby = off
ssl = off
shared_buffers = '128MB'
max_connections = 20
logging_collector = off
shared_preload_libraries = ''
CONF
printf 'local all postgres peer\n' >"$SCRATCH/pg_hba.conf"
: >"$SCRATCH/pg_ident.conf"
chown postgres:postgres "$SCRATCH/postgresql.conf" "$SCRATCH/pg_hba.conf" "$SCRATCH/pg_ident.conf"

LOG="$SCRATCH/cloudseed-validate.log"
if ! as_postgres pg_ctl -D "$SCRATCH" -l "$LOG" -w -t "$START_TIMEOUT_SECONDS" start >/dev/null 2>&1; then
  failed "the restored copy of $LABEL did not come up: $(tail_of "$LOG")"
fi
export PGHOST="$SCRATCH" PGPORT="$SCRATCH_PORT"
PROMOTED=''
for _ in $(seq 1 "$START_TIMEOUT_SECONDS"); do
  PROMOTED="$(sql -d postgres -c 'SELECT NOT pg_catalog.pg_is_in_recovery()' 2>/dev/null || true)"
  [ "$PROMOTED" = t ] && break
  sleep 1
done
[ "$PROMOTED" = t ] || failed "the restored copy of $LABEL was not promoted within $START_TIMEOUT_SECONDS s: $(tail_of "$LOG")"
grep -qF "recovery stopping at restore point \"$RESTORE_POINT\"" "$LOG" \
  || failed "the restored copy of $LABEL did not stop at restore point $RESTORE_POINT: $(tail_of "$LOG")"

fingerprint_tables "$DATABASE" '' >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &
wait "$!" || fail "fingerprinting the restored copy failed: $(tail_of "$WORK/fingerprints.err")"
stop_scratch "$SCRATCH"
rm -rf "$SCRATCH"
SCRATCH=''

# verify can print an error and still end "completed successfully": its report (the stanza's status
# first, then each WAL range and backup) goes to the provider, which reads it; its exit status too.
set +e
backrest --output=text --verbose verify >"$WORK/verify.out" 2>&1
VERIFY_STATUS=$?
set -e
VERIFY_LINES="$(head -c "$VERIFY_LIMIT" "$WORK/verify.out")"

if ! { printf '{"tables":['; paste -s -d , "$WORK/tables.json"; printf ']}\n'; } | object_put "$OBJECT" application/json; then
  fail "could not store the fingerprints of the restored copy in $OBJECT"
fi
report_status "{\"status\":\"restored\",\"bucket\":$(json_string "$BUCKET"),\"tableCount\":$(wc -l <"$WORK/tables.json"),\"verifyExit\":$VERIFY_STATUS,\"verify\":$(json_string "$VERIFY_LINES")}"
