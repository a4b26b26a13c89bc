# shellcheck shell=bash
# shellcheck disable=SC2153 # OBJECT and RESTORED_SHA256 are set by the files sent before this one
# Checks the stored object's sha256, restores it into a scratch database cloudseed_validate_<hex>
# (hashing it again on the way), and stores every restored table's fingerprint beside the object for
# the provider to compare with the recorded ones. The scratch database is dropped however the script
# ends (short of being killed; the next run drops it then). A backup that is not what was recorded,
# or that pg_restore refuses, is a result (failed), not an error; errors are what prevented checking
# (the bucket or the server unreachable).
take_lock
SCRATCH=''
finish() {
  local status=$?
  trap - EXIT
  if [ -n "$SCRATCH" ]; then drop_database "$SCRATCH" || { echo "could not drop the scratch database $SCRATCH" >&2; status=1; }; fi
  rm -rf "$WORK"
  exit "$status"
}
trap finish EXIT
failed() {
  report_status "{\"status\":\"failed\",\"detail\":$(json_string "$1")}"
  exit 0
}

drop_leftovers
STORED_SHA256="$(stored_sha256)"
[ "$STORED_SHA256" = "$RECORDED_SHA256" ] || failed "$(mismatch "$STORED_SHA256")"

SCRATCH="cloudseed_validate_$(random_suffix)"
create_database "$SCRATCH"
restore_into "$SCRATCH"
[ -z "$RESTORE_ERROR" ] || failed "pg_restore failed: $RESTORE_ERROR"
[ "$RESTORED_SHA256" = "$RECORDED_SHA256" ] || failed "$(mismatch "$RESTORED_SHA256")"

# In the background, where a failure stops it: in an `if` or `||` bash would ignore set -e inside it.
fingerprint_tables "$SCRATCH" '' >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &
wait "$!" || fail "fingerprinting the restored copy failed: $(tail_of "$WORK/fingerprints.err")"
if ! { printf '{"tables":['; paste -s -d , "$WORK/tables.json"; printf ']}\n'; } \
  | object_put "$OBJECT$VALIDATION_SUFFIX" application/json; then
  fail "could not store the fingerprints of the restored copy in $OBJECT$VALIDATION_SUFFIX"
fi
report_status "{\"status\":\"restored\",\"sha256\":\"$RESTORED_SHA256\",\"tableCount\":$(wc -l <"$WORK/tables.json")}"
