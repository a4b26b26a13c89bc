# shellcheck shell=bash
# What the backup, validation and restore scripts share. A script prints exactly one line to standard
# output, its result (report_status); everything else goes to standard error, and stays short, since
# SSM keeps only the first 24,000 characters of standard output and the first 8,000 of standard error.
# From the header: TASK, BUCKET, KEY, REGION, PG_BIN, PGPORT, PGAPPNAME, PGOPTIONS, RESULT_MARKER,
# LOCK_FILE; the scripts that store objects beside the archive, their suffixes (GLOBALS_SUFFIX, MANIFEST_SUFFIX, VALIDATION_SUFFIX).
set -euo pipefail
# Command substitutions stop at the first failure too.
shopt -s inherit_errexit
umask 077
# PostgreSQL tools run as postgres, which may not read the directory SSM starts in.
cd /
# Every session is the superuser in a database the tenant owns: it finds no function or operator
# of the tenant's by name (admin-session.ts). runuser keeps the environment, and with it this.
export PGPORT PGAPPNAME PGOPTIONS
export PATH="$PG_BIN:$PATH"
# shellcheck disable=SC2034 # for the files sent after this one
OBJECT="$(object_url "$KEY")"
# Standard output carries the result line alone (fd 3); anything else a command prints goes to standard error.
exec 3>&1 1>&2

fail() {
  printf 'cloudseed %s: %s\n' "$TASK" "$*" >&2
  exit 1
}
# The tool from PG_BIN (runuser may reset PATH), run as postgres.
as_postgres() {
  local tool
  tool="$(command -v "$1")" || fail "$1 is not installed"
  shift
  runuser -u postgres -- "$tool" "$@"
}
sql() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# The last lines of a tool's standard error, for a failure message that fits what SSM keeps.
tail_of() { tail -n 5 "$1" 2>/dev/null | cut -c 1-300 || true; }
json_string() {
  local text=${1//\\/\\\\}
  text=${text//\"/\\\"}
  text=${text//$'\n'/\\n}
  text=${text//$'\t'/\\t}
  printf '"%s"' "$(printf '%s' "$text" | tr -d '\000-\037')"
}
random_suffix() { od -An -N6 -tx1 /dev/urandom | tr -d ' \n'; }
# Reads standard input to its end and prints its length in bytes and its digest ($1: md5sum or sha256sum).
measure() {
  local fifo digest_pid bytes
  fifo="$(mktemp -u "$WORK/measure.XXXXXX")"
  mkfifo "$fifo"
  "$1" <"$fifo" >"$fifo.sum" &
  digest_pid=$!
  bytes="$(tee "$fifo" | wc -c)"
  wait "$digest_pid"
  printf '%s %s\n' "$bytes" "$(cut -d ' ' -f 1 "$fifo.sum")"
  rm -f "$fifo" "$fifo.sum"
}
# One backup, validation or restore at a time per node; with the lock held, what a killed run left
# behind can be dropped safely. Sets WORK, a directory of this run's own.
take_lock() {
  exec 9>"$LOCK_FILE"
  flock -w 60 9 || fail "another backup, validation or restore is running on this node"
  WORK="$(mktemp -d)"
}
