# shellcheck shell=bash
# Reads the newest end of this node's PostgreSQL log (the logging collector's files, found where the
# running server says they are) and hands it to the provider gzip'd and in base64, shortened until it
# fits what the command channel keeps. The provider masks passwords before anyone sees a line.
# Sent after task-helpers.sh (errexit, fail, the result on fd 3).
# From the header: TASK, PG_BIN, PGPORT, PGAPPNAME, PGOPTIONS, RESULT_MARKER, TAIL_BYTES, MAX_RESULT_CHARS.

places="$(runuser -u postgres -- "$PG_BIN/psql" -X -q -At -d postgres -c "SELECT current_setting('data_directory') || '|' || current_setting('log_directory')")" ||
  fail "the server does not answer on port $PGPORT"
data_dir=${places%%|*}
log_dir=${places#*|}
[[ "$log_dir" == /* ]] || log_dir="$data_dir/$log_dir"
# The two newest files (one a weekday), read as postgres, which owns them: oldest first.
mapfile -t files < <(runuser -u postgres -- find "$log_dir" -maxdepth 1 -type f -name 'postgresql-*.log' -printf '%T@ %p\n' | sort -n | tail -n 2 | cut -d ' ' -f 2-)
newest_end() {
  local file
  for file in "${files[@]}"; do runuser -u postgres -- tail -c "$1" -- "$file"; done | tail -c "$1"
}
bytes=$TAIL_BYTES
while :; do
  encoded="$(newest_end "$bytes" | gzip -9 | base64 -w 0)"
  if ((${#encoded} <= MAX_RESULT_CHARS || bytes <= 4096)); then break; fi
  bytes=$((bytes / 2))
done
report_status "{\"log\":\"$encoded\",\"bytes\":$bytes}"
