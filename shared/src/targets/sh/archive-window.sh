# shellcheck shell=bash
# What a point-in-time restore can reach: the stanza's backups (the earliest time is the end of the
# oldest) and, from the primary, the newest heartbeat whose commit is archived.
# From the header: LATEST_SQL.
require_repository
INFO="$(stanza_info '')" || fail "pgbackrest info failed"
LATEST=''
if [ "$(sql -d postgres -c "SELECT pg_catalog.to_regclass('cloudseed.heartbeat') IS NOT NULL")" = t ]; then
  LATEST="$(sql -d postgres <<<"$LATEST_SQL")" || fail "could not read the newest archived heartbeat"
fi
report_status "{\"latest\":$(json_string "$LATEST"),\"info\":$INFO}"
