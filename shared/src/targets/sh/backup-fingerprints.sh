# shellcheck shell=bash
# Fingerprints the user tables of a database, as an exported snapshot sees them when given one: per
# table the row count and the md5 of its rows' md5s sorted, with the local provider's session
# settings and queries (functions/providers/fingerprints.ts). Each table's hashes stream out of COPY
# sorted and are hashed on the way (md5 of their concatenation is md5(string_agg)), so a table of any
# size is fingerprinted in constant memory.
# From the header: USER_TABLES_FROM, FINGERPRINT_SETTINGS, ROW_HASHES_COPY (a format() template of
# the COPY of one table's sorted row hashes, taking its schema and name).

# Lists the user tables of database $1 as oid|"schema.table", as snapshot $2 sees them when there is one.
list_tables() {
  local args=(-d "$1" -v "user_tables_from=$USER_TABLES_FROM")
  if [ -n "$2" ]; then args+=(-v "snapshot=$2"); fi
  sql "${args[@]}" <<'SQL'
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
\if :{?snapshot}
SET TRANSACTION SNAPSHOT :'snapshot';
\endif
SELECT c.oid, pg_catalog.to_json(n.nspname || '.' || c.relname)
:user_tables_from
ORDER BY n.nspname || '.' || c.relname COLLATE "C";
COMMIT;
SQL
}
# Prints "<bytes> <md5>" of the sorted md5s of the rows of table $3 (an oid) in database $1 (snapshot $2).
fingerprint_table() {
  local args=(-d "$1" -v "oid=$3" -v "fingerprint_settings=$FINGERPRINT_SETTINGS" -v "row_hashes_copy=$ROW_HASHES_COPY")
  if [ -n "$2" ]; then args+=(-v "snapshot=$2"); fi
  sql "${args[@]}" <<'SQL' | tr -d '\n' | measure md5sum
:fingerprint_settings
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
\if :{?snapshot}
SET TRANSACTION SNAPSHOT :'snapshot';
\endif
SELECT pg_catalog.format(:'row_hashes_copy', n.nspname, c.relname)
FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid = :oid
\gexec
COMMIT;
SQL
}
# Prints one {"table","rows","checksum"} JSON object per line for every user table of database $1 (snapshot $2).
fingerprint_tables() {
  local list oid label measured bytes checksum
  list="$(mktemp "$WORK/tables.XXXXXX")"
  list_tables "$1" "$2" >"$list" || fail "could not list the tables of database $1"
  while IFS='|' read -r oid label; do
    [[ $oid =~ ^[0-9]+$ ]] || fail "unexpected line in the list of tables: $oid"
    measured="$(fingerprint_table "$1" "$2" "$oid")" || fail "could not fingerprint table $label"
    [[ $measured =~ ^[0-9]+[[:blank:]][0-9a-f]{32}$ ]] || fail "unexpected fingerprint of table $label: $measured"
    bytes="${measured%% *}"
    checksum="${measured#* }"
    [ $((bytes % 32)) -eq 0 ] || fail "unexpected row hashes of table $label"
    if [ "$bytes" -eq 0 ]; then checksum=''; fi
    printf '{"table":%s,"rows":%d,"checksum":"%s"}\n' "$label" "$((bytes / 32))" "$checksum"
  done <"$list"
}
