# shellcheck shell=bash
# shellcheck disable=SC2034 # RESTORE_ERROR and RESTORED_SHA256 are for the script sent after this file
# Databases for the validation and restore scripts: making and dropping them, dropping the ones a
# killed validation or restore left behind (only while the lock is held), and restoring the backup
# object into one. From the header: OWNER, RECORDED_SHA256.

drop_database() {
  sql -d postgres -v name="$1" <<<'DROP DATABASE IF EXISTS :"name" WITH (FORCE);'
}
create_database() {
  sql -d postgres -v name="$1" -v owner="$OWNER" <<<'CREATE DATABASE :"name" OWNER :"owner" TEMPLATE template0;'
}
drop_leftovers() {
  sql -d postgres <<'SQL'
SELECT pg_catalog.format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_catalog.pg_database
WHERE datname ~ '^cloudseed_(validate|restore|replaced)_[0-9a-f]{12}$'
\gexec
SQL
}
# Prints the sha256 of the stored object, read as a stream.
stored_sha256() {
  local measured
  measured="$(object_get "$OBJECT" | measure sha256sum)" || fail "could not read $OBJECT"
  printf '%s\n' "${measured#* }"
}
# Streams the object into pg_restore, into database $1, hashing what it reads. pg_restore logs in as $OWNER
# (pg_ident.conf's owner map), which creates everything: the tenant's code a restore runs (CHECK
# constraints during COPY) could RESET ROLE out of a superuser session's --role.
# Sets RESTORE_ERROR (empty when pg_restore succeeded) and RESTORED_SHA256; a failed download fails the script.
restore_into() {
  local fifo="$WORK/restore.sha256" digest_pid statuses
  mkfifo "$fifo"
  sha256sum <"$fifo" >"$fifo.out" &
  digest_pid=$!
  set +e
  object_get "$OBJECT" | tee "$fifo" | as_postgres pg_restore --dbname="$1" --username="$OWNER" --no-owner --exit-on-error 2>"$WORK/pg_restore.err"
  statuses=("${PIPESTATUS[@]}")
  set -e
  wait "$digest_pid"
  # tee succeeding means pg_restore read everything it was given: then a failed download cut its input short.
  if [ "${statuses[0]}" -ne 0 ] && [ "${statuses[1]}" -eq 0 ]; then fail "downloading $OBJECT failed"; fi
  RESTORE_ERROR=''
  if [ "${statuses[2]}" -ne 0 ]; then RESTORE_ERROR="$(tail_of "$WORK/pg_restore.err")"; fi
  RESTORED_SHA256="$(cut -d ' ' -f 1 "$fifo.out")"
}
mismatch() { printf 'the stored object does not match its checksum (sha256 %s, recorded %s)' "$1" "$RECORDED_SHA256"; }
