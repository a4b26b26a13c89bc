import { PINNED_SEARCH_PATH_OPTIONS } from '@cloudseed/shared/postgres/admin-session';
import { shellQuote } from '@cloudseed/shared/targets/aws/scripts';
import { FINGERPRINT_SETTINGS, USER_TABLES_FROM } from '../fingerprints.ts';

// The bash scripts SSM Run Command runs as root on a deployment's primary to back it up, to prove
// a backup by restoring it into a scratch database, and to restore it into the application
// database. The instance streams everything between PostgreSQL and S3 itself (its instance profile
// may write the backup objects and read them back); nothing passes through the Lambda.
//
// Next to `<key>`, the pg_dump --format=custom archive, a backup has:
//   <key>.globals.sql       pg_dumpall --globals-only (roles with their SCRAM verifiers, tablespaces)
//   <key>.manifest.json     what the backup script measured: size, sha256, server version, and every
//                           table's row count and checksum in the dump's snapshot
//   <key>.validation.json   the same fingerprints of the latest restored copy
//
// A script prints exactly one line to standard output, `CLOUDSEED_RESULT {json}`; everything else
// goes to standard error, and stays short, since SSM keeps only the first 24,000 characters of
// standard output and the first 8,000 of standard error. The fingerprints do not fit that for a
// database of a few hundred tables, so they travel through S3 and the result line carries counts
// the provider checks them against.
//
// The three scripts take one lock per node, so a backup, a validation and a restore never overlap;
// with it held, the scratch databases of a run that was killed can be dropped safely.
//
// Fingerprints are the local provider's (local/fingerprints.ts): per table the row count and the
// md5 of its rows' md5s sorted, with the same session settings. Here each table's hashes stream
// out of COPY sorted and are hashed on the way (md5 of their concatenation is md5(string_agg)),
// so a table of any size is fingerprinted in constant memory.

export const RESULT_MARKER = 'CLOUDSEED_RESULT';
/** The file the three scripts lock, one at a time per node. */
const LOCK_FILE = '/run/cloudseed-backup.lock';
/** libpq application_name of every session the scripts open, so a failed run can end its own sessions. */
export const APPLICATION_NAME = 'cloudseed-backup';

const SUFFIXES = { globals: '.globals.sql', manifest: '.manifest.json', validation: '.validation.json' } as const;

export const globalsKey = (key: string): string => `${key}${SUFFIXES.globals}`;
export const manifestKey = (key: string): string => `${key}${SUFFIXES.manifest}`;
export const validationKey = (key: string): string => `${key}${SUFFIXES.validation}`;
/** Every object a backup consists of, the archive first. */
export const backupObjectKeys = (key: string): string[] => [key, globalsKey(key), manifestKey(key), validationKey(key)];

export interface BackupScriptInput {
  readonly bucket: string;
  readonly key: string;
  /** The bucket's region: every `aws s3` call names it. */
  readonly region: string;
  /** The application database. */
  readonly database: string;
  /** The application role: it owns the database and everything a restore creates. */
  readonly owner: string;
  readonly port: number;
  /** Where this image keeps psql, pg_dump and pg_restore of the installed major. */
  readonly binDir: string;
}

export interface RestoreScriptInput extends BackupScriptInput {
  /** The sha256 the backup recorded; the object must still have it. */
  readonly recordedSha256: string;
}

export interface SwapInput extends RestoreScriptInput {
  /**
   * Seconds after its start past which the restore gives up rather than swap the databases: SSM
   * kills a script at its timeout without a trap, and a restore killed between refusing new
   * sessions and the renames would leave the application database refusing them.
   */
  readonly swapDeadlineSeconds: number;
}

type Assignment = readonly [name: string, value: string];

/** Bash that sets the values a script starts from, each single-quoted once. */
function header(task: string, summary: string, input: BackupScriptInput, values: readonly Assignment[]): string[] {
  return [
    '#!/usr/bin/env bash',
    `# CloudSeed ${task}: ${summary}`,
    'set -euo pipefail',
    '# Command substitutions stop at the first failure too.',
    'shopt -s inherit_errexit',
    'umask 077',
    '# PostgreSQL tools run as postgres, which may not read the directory SSM starts in.',
    'cd /',
    `TASK=${shellQuote(task)}`,
    `BUCKET=${shellQuote(input.bucket)}`,
    `KEY=${shellQuote(input.key)}`,
    `REGION=${shellQuote(input.region)}`,
    ...values.map(([name, value]) => `${name}=${shellQuote(value)}`),
    `PG_BIN=${shellQuote(input.binDir)}`,
    `export PGPORT=${shellQuote(String(input.port))}`,
    `export PGAPPNAME=${shellQuote(APPLICATION_NAME)}`,
    '# Every session is the superuser in a database the tenant owns: it finds no function or operator',
    "# of the tenant's by name (admin-session.ts). runuser keeps the environment, and with it this.",
    `export PGOPTIONS=${shellQuote(PINNED_SEARCH_PATH_OPTIONS)}`,
    'export PATH="$PG_BIN:$PATH"',
    'OBJECT="s3://$BUCKET/$KEY"',
    '# Standard output carries the result line alone (fd 3); anything else a command prints goes to standard error.',
    'exec 3>&1 1>&2',
    '',
  ];
}

const HELPERS = [
  'fail() {',
  '  printf \'cloudseed %s: %s\\n\' "$TASK" "$*" >&2',
  '  exit 1',
  '}',
  "result() { printf '%s %s\\n' " + shellQuote(RESULT_MARKER) + ' "$1" >&3; }',
  '# The tool from PG_BIN (runuser may reset PATH), run as postgres.',
  'as_postgres() {',
  '  local tool',
  '  tool="$(command -v "$1")" || fail "$1 is not installed"',
  '  shift',
  '  runuser -u postgres -- "$tool" "$@"',
  '}',
  'sql() { as_postgres psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }',
  's3() { aws --region "$REGION" s3 "$@" --only-show-errors; }',
  "# The last lines of a tool's standard error, for a failure message that fits what SSM keeps.",
  'tail_of() { tail -n 5 "$1" 2>/dev/null | cut -c 1-300 || true; }',
  'json_string() {',
  '  local text=${1//\\\\/\\\\\\\\}',
  '  text=${text//\\"/\\\\\\"}',
  "  text=${text//$'\\n'/\\\\n}",
  "  text=${text//$'\\t'/\\\\t}",
  '  printf \'"%s"\' "$(printf \'%s\' "$text" | tr -d \'\\000-\\037\')"',
  '}',
  "random_suffix() { od -An -N6 -tx1 /dev/urandom | tr -d ' \\n'; }",
  '# Reads standard input to its end and prints its length in bytes and its digest ($1: md5sum or sha256sum).',
  'measure() {',
  '  local fifo digest_pid bytes',
  '  fifo="$(mktemp -u "$WORK/measure.XXXXXX")"',
  '  mkfifo "$fifo"',
  '  "$1" <"$fifo" >"$fifo.sum" &',
  '  digest_pid=$!',
  '  bytes="$(tee "$fifo" | wc -c)"',
  '  wait "$digest_pid"',
  '  printf \'%s %s\\n\' "$bytes" "$(cut -d \' \' -f 1 "$fifo.sum")"',
  '  rm -f "$fifo" "$fifo.sum"',
  '}',
  '',
];

const LOCK = [
  `exec 9>${LOCK_FILE}`,
  'flock -w 60 9 || fail "another backup, validation or restore is running on this node"',
  'WORK="$(mktemp -d)"',
  '',
];

/** Bash functions that fingerprint the user tables of a database, as an exported snapshot sees them when given one. */
const FINGERPRINT_FUNCTIONS = [
  '# Lists the user tables of database $1 as oid|"schema.table", as snapshot $2 sees them when there is one.',
  'list_tables() {',
  '  local args=(-d "$1")',
  '  if [ -n "$2" ]; then args+=(-v "snapshot=$2"); fi',
  '  sql "${args[@]}" <<\'SQL\'',
  'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;',
  '\\if :{?snapshot}',
  "SET TRANSACTION SNAPSHOT :'snapshot';",
  '\\endif',
  "SELECT c.oid, pg_catalog.to_json(n.nspname || '.' || c.relname)",
  ...USER_TABLES_FROM,
  'ORDER BY n.nspname || \'.\' || c.relname COLLATE "C";',
  'COMMIT;',
  'SQL',
  '}',
  '# Prints "<bytes> <md5>" of the sorted md5s of the rows of table $3 (an oid) in database $1 (snapshot $2).',
  'fingerprint_table() {',
  '  local args=(-d "$1" -v "oid=$3")',
  '  if [ -n "$2" ]; then args+=(-v "snapshot=$2"); fi',
  "  sql \"${args[@]}\" <<'SQL' | tr -d '\\n' | measure md5sum",
  FINGERPRINT_SETTINGS,
  'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;',
  '\\if :{?snapshot}',
  "SET TRANSACTION SNAPSHOT :'snapshot';",
  '\\endif',
  // ROW(r.*) rather than r: a column named like the alias would win over the whole-row reference.
  'SELECT pg_catalog.format(\'COPY (SELECT h FROM (SELECT pg_catalog.md5(ROW(r.*)::text) COLLATE "C" AS h FROM ONLY %I.%I AS r) AS hashed ORDER BY h) TO STDOUT\', n.nspname, c.relname)',
  'FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace',
  'WHERE c.oid = :oid',
  '\\gexec',
  'COMMIT;',
  'SQL',
  '}',
  '# Prints one {"table","rows","checksum"} JSON object per line for every user table of database $1 (snapshot $2).',
  'fingerprint_tables() {',
  '  local list oid label measured bytes checksum',
  '  list="$(mktemp "$WORK/tables.XXXXXX")"',
  '  list_tables "$1" "$2" >"$list" || fail "could not list the tables of database $1"',
  "  while IFS='|' read -r oid label; do",
  '    [[ $oid =~ ^[0-9]+$ ]] || fail "unexpected line in the list of tables: $oid"',
  '    measured="$(fingerprint_table "$1" "$2" "$oid")" || fail "could not fingerprint table $label"',
  '    [[ $measured =~ ^[0-9]+[[:blank:]][0-9a-f]{32}$ ]] || fail "unexpected fingerprint of table $label: $measured"',
  '    bytes="${measured%% *}"',
  '    checksum="${measured#* }"',
  '    [ $((bytes % 32)) -eq 0 ] || fail "unexpected row hashes of table $label"',
  '    if [ "$bytes" -eq 0 ]; then checksum=\'\'; fi',
  '    printf \'{"table":%s,"rows":%d,"checksum":"%s"}\\n\' "$label" "$((bytes / 32))" "$checksum"',
  '  done <"$list"',
  '}',
  '',
];

/** Dropping a database, and the ones a killed validation or restore left behind (only while the lock is held). */
const DATABASE_FUNCTIONS = [
  'drop_database() {',
  '  sql -d postgres -v name="$1" <<<\'DROP DATABASE IF EXISTS :"name" WITH (FORCE);\'',
  '}',
  'create_database() {',
  '  sql -d postgres -v name="$1" -v owner="$OWNER" <<<\'CREATE DATABASE :"name" OWNER :"owner" TEMPLATE template0;\'',
  '}',
  'drop_leftovers() {',
  "  sql -d postgres <<'SQL'",
  "SELECT pg_catalog.format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_catalog.pg_database",
  "WHERE datname ~ '^cloudseed_(validate|restore|replaced)_[0-9a-f]{12}$'",
  '\\gexec',
  'SQL',
  '}',
  '# Prints the sha256 of the stored object, read as a stream.',
  'stored_sha256() {',
  '  local measured',
  '  measured="$(s3 cp "$OBJECT" - | measure sha256sum)" || fail "could not read $OBJECT"',
  '  printf \'%s\\n\' "${measured#* }"',
  '}',
  '# Streams the object into pg_restore, into database $1, hashing what it reads. pg_restore logs in as $OWNER',
  "# (pg_ident.conf's owner map), which creates everything: the tenant's code a restore runs (CHECK",
  "# constraints during COPY) could RESET ROLE out of a superuser session's --role.",
  '# Sets RESTORE_ERROR (empty when pg_restore succeeded) and RESTORED_SHA256; a failed download fails the script.',
  'restore_into() {',
  '  local fifo="$WORK/restore.sha256" digest_pid statuses',
  '  mkfifo "$fifo"',
  '  sha256sum <"$fifo" >"$fifo.out" &',
  '  digest_pid=$!',
  '  set +e',
  '  s3 cp "$OBJECT" - | tee "$fifo" | as_postgres pg_restore --dbname="$1" --username="$OWNER" --no-owner --exit-on-error 2>"$WORK/pg_restore.err"',
  '  statuses=("${PIPESTATUS[@]}")',
  '  set -e',
  '  wait "$digest_pid"',
  '  # tee succeeding means pg_restore read everything it was given: then a failed download cut its input short.',
  '  if [ "${statuses[0]}" -ne 0 ] && [ "${statuses[1]}" -eq 0 ]; then fail "downloading $OBJECT failed"; fi',
  "  RESTORE_ERROR=''",
  '  if [ "${statuses[2]}" -ne 0 ]; then RESTORE_ERROR="$(tail_of "$WORK/pg_restore.err")"; fi',
  '  RESTORED_SHA256="$(cut -d \' \' -f 1 "$fifo.out")"',
  '}',
  'mismatch() { printf \'the stored object does not match its checksum (sha256 %s, recorded %s)\' "$1" "$RECORDED_SHA256"; }',
  '',
];

/**
 * pg_dump of the application database streamed to `<key>`, the globals to `<key>.globals.sql`, and
 * the manifest with every table's fingerprint to `<key>.manifest.json`. A session exports its
 * snapshot to pg_dump and holds an ACCESS SHARE lock on every table until the dump is done, so no
 * table can be dropped, truncated or rewritten between the snapshot and pg_dump's own locks; the
 * tables are fingerprinted in that snapshot while pg_dump runs. On any failure what reached S3 is
 * removed and the script's sessions are ended.
 */
export function backupScript(input: BackupScriptInput): string {
  return [
    ...header('backup', 'pg_dump of the application database to S3, with its tables fingerprinted in the same snapshot.', input, [
      ['DATABASE', input.database],
    ]),
    'STARTED_MS="$(date +%s%3N)"',
    ...HELPERS,
    ...FINGERPRINT_FUNCTIONS,
    ...LOCK,
    "SESSION_IN=''",
    'finish() {',
    '  local status=$?',
    '  trap - EXIT',
    '  if [ -n "$SESSION_IN" ]; then exec {SESSION_IN}>&-; fi',
    '  if [ "$status" -ne 0 ]; then',
    '    # pg_dump and the fingerprints may still be reading: end every session of this run.',
    "    sql -d postgres <<'SQL' >/dev/null 2>&1 || true",
    `SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity WHERE application_name = ${sqlLiteral(APPLICATION_NAME)} AND pid <> pg_catalog.pg_backend_pid();`,
    'SQL',
    `    for object in "$OBJECT" ${Object.values(SUFFIXES)
      .map((suffix) => `"$OBJECT${suffix}"`)
      .join(' ')}; do`,
    '      s3 rm "$object" || echo "could not remove $object" >&2',
    '    done',
    '    echo "cloudseed backup: failed; removed what it had stored under $OBJECT" >&2',
    '  fi',
    '  rm -rf "$WORK"',
    '  exit "$status"',
    '}',
    'trap finish EXIT',
    '',
    '# The snapshot: exported by a session that locks every table it lists and stays open until the end.',
    'coproc SESSION { sql -d "$DATABASE" 2>"$WORK/session.err"; }',
    '# shellcheck disable=SC2153 # coproc sets SESSION_PID',
    'SESSION_PROCESS=$SESSION_PID',
    'SESSION_IN=${SESSION[1]}',
    'SESSION_OUT=${SESSION[0]}',
    'cat >&"$SESSION_IN" <<\'SQL\'',
    "SET lock_timeout = '60s';",
    'SET statement_timeout = 0;',
    'SET idle_in_transaction_session_timeout = 0;',
    'BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;',
    "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.to_json(pg_catalog.current_setting('server_version')), pg_catalog.pg_database_size(pg_catalog.current_database());",
    "SELECT 'LOCK TABLE ' || pg_catalog.string_agg(pg_catalog.format('ONLY %I.%I', n.nspname, c.relname), ', ') || ' IN ACCESS SHARE MODE'",
    ...USER_TABLES_FROM,
    'HAVING count(*) > 0',
    '\\gexec',
    '\\echo CLOUDSEED_LOCKED',
    'SQL',
    'if ! IFS=\'|\' read -r -t 600 SNAPSHOT_ID SERVER_VERSION DATABASE_SIZE <&"$SESSION_OUT"; then',
    '  fail "could not open a snapshot of database $DATABASE: $(tail_of "$WORK/session.err")"',
    'fi',
    '[[ $SNAPSHOT_ID =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]] || fail "the server exported an unexpected snapshot id: $SNAPSHOT_ID"',
    '[[ $DATABASE_SIZE =~ ^[0-9]+$ ]] || fail "unexpected size of database $DATABASE: $DATABASE_SIZE"',
    "LOCKED=''",
    'read -r -t 600 LOCKED <&"$SESSION_OUT" || true',
    '[ "$LOCKED" = CLOUDSEED_LOCKED ] || fail "could not lock the tables of database $DATABASE: $(tail_of "$WORK/session.err")"',
    '',
    `if ! as_postgres pg_dumpall --globals-only 2>"$WORK/globals.err" | s3 cp - "$OBJECT${SUFFIXES.globals}" --sse AES256 --content-type application/sql; then`,
    `  fail "could not store the globals (pg_dumpall --globals-only) in $OBJECT${SUFFIXES.globals}: $(tail_of "$WORK/globals.err")"`,
    'fi',
    '',
    'fingerprint_tables "$DATABASE" "$SNAPSHOT_ID" >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &',
    'FINGERPRINTS_PID=$!',
    '',
    '# The dump streams to S3 while it is hashed and counted. --expected-size (the database size, more than',
    '# the compressed dump) lets the CLI pick parts large enough for a stream above 50 GB.',
    'mkfifo "$WORK/dump.sha256" "$WORK/dump.size"',
    'sha256sum <"$WORK/dump.sha256" >"$WORK/dump.sha256.out" &',
    'SHA_PID=$!',
    'wc -c <"$WORK/dump.size" >"$WORK/dump.size.out" &',
    'SIZE_PID=$!',
    'set +e',
    'as_postgres pg_dump --format=custom --snapshot="$SNAPSHOT_ID" --lock-wait-timeout=60s --dbname="$DATABASE" 2>"$WORK/pg_dump.err" \\',
    '  | tee "$WORK/dump.sha256" "$WORK/dump.size" \\',
    '  | s3 cp - "$OBJECT" --sse AES256 --expected-size "$DATABASE_SIZE" --content-type application/octet-stream',
    'DUMP_STATUS=("${PIPESTATUS[@]}")',
    'set -e',
    'wait "$SHA_PID"',
    'wait "$SIZE_PID"',
    "# An upload that fails breaks pg_dump's pipe; a pg_dump that fails ends the upload early: name the first cause.",
    '[ "${DUMP_STATUS[2]}" -eq 0 ] || fail "uploading the dump to $OBJECT failed"',
    '[ "${DUMP_STATUS[0]}" -eq 0 ] || fail "pg_dump failed: $(tail_of "$WORK/pg_dump.err")"',
    '[ "${DUMP_STATUS[1]}" -eq 0 ] || fail "could not hash the dump on its way to S3"',
    'wait "$FINGERPRINTS_PID" || fail "fingerprinting the tables in the dump\'s snapshot failed: $(tail_of "$WORK/fingerprints.err")"',
    'exec {SESSION_IN}>&-',
    "SESSION_IN=''",
    'wait "$SESSION_PROCESS" || true',
    '',
    'SHA256="$(cut -d \' \' -f 1 "$WORK/dump.sha256.out")"',
    'SIZE_BYTES="$(tr -d \' \' <"$WORK/dump.size.out")"',
    'TABLE_COUNT="$(wc -l <"$WORK/tables.json")"',
    'DURATION_MS=$(($(date +%s%3N) - STARTED_MS))',
    'SUMMARY="\\"sizeBytes\\":$SIZE_BYTES,\\"sha256\\":\\"$SHA256\\",\\"durationMs\\":$DURATION_MS,\\"serverVersion\\":$SERVER_VERSION"',
    'if ! { printf \'{%s,"tables":[\' "$SUMMARY"; paste -s -d , "$WORK/tables.json"; printf \']}\\n\'; } \\',
    `  | s3 cp - "$OBJECT${SUFFIXES.manifest}" --sse AES256 --content-type application/json; then`,
    `  fail "could not store the manifest in $OBJECT${SUFFIXES.manifest}"`,
    'fi',
    'result "{$SUMMARY,\\"tableCount\\":$TABLE_COUNT}"',
    '',
  ].join('\n');
}

/**
 * Checks the stored object's sha256, restores it into a scratch database `cloudseed_validate_<hex>`
 * (hashing it again on the way), and stores every restored table's fingerprint in
 * `<key>.validation.json` for the provider to compare with the recorded ones. The scratch
 * database is dropped however the script ends (short of being killed; the next run drops it then).
 * A backup that is not what was recorded, or that pg_restore refuses, is a result (`failed`), not
 * an error; errors are what prevented checking (S3 or the server unreachable).
 */
export function validateScript(input: RestoreScriptInput): string {
  return [
    ...header('backup-validation', 'restores a backup into a scratch database and fingerprints what it restored.', input, [
      ['OWNER', input.owner],
      ['RECORDED_SHA256', input.recordedSha256],
    ]),
    ...HELPERS,
    ...FINGERPRINT_FUNCTIONS,
    ...DATABASE_FUNCTIONS,
    ...LOCK,
    "SCRATCH=''",
    'finish() {',
    '  local status=$?',
    '  trap - EXIT',
    '  if [ -n "$SCRATCH" ]; then drop_database "$SCRATCH" || { echo "could not drop the scratch database $SCRATCH" >&2; status=1; }; fi',
    '  rm -rf "$WORK"',
    '  exit "$status"',
    '}',
    'trap finish EXIT',
    'failed() {',
    '  result "{\\"status\\":\\"failed\\",\\"detail\\":$(json_string "$1")}"',
    '  exit 0',
    '}',
    '',
    'drop_leftovers',
    'STORED_SHA256="$(stored_sha256)"',
    '[ "$STORED_SHA256" = "$RECORDED_SHA256" ] || failed "$(mismatch "$STORED_SHA256")"',
    '',
    'SCRATCH="cloudseed_validate_$(random_suffix)"',
    'create_database "$SCRATCH"',
    'restore_into "$SCRATCH"',
    '[ -z "$RESTORE_ERROR" ] || failed "pg_restore failed: $RESTORE_ERROR"',
    '[ "$RESTORED_SHA256" = "$RECORDED_SHA256" ] || failed "$(mismatch "$RESTORED_SHA256")"',
    '',
    '# In the background, where a failure stops it: in an `if` or `||` bash would ignore set -e inside it.',
    'fingerprint_tables "$SCRATCH" \'\' >"$WORK/tables.json" 2>"$WORK/fingerprints.err" &',
    'wait "$!" || fail "fingerprinting the restored copy failed: $(tail_of "$WORK/fingerprints.err")"',
    'if ! { printf \'{"tables":[\'; paste -s -d , "$WORK/tables.json"; printf \']}\\n\'; } \\',
    `  | s3 cp - "$OBJECT${SUFFIXES.validation}" --sse AES256 --content-type application/json; then`,
    `  fail "could not store the fingerprints of the restored copy in $OBJECT${SUFFIXES.validation}"`,
    'fi',
    'result "{\\"status\\":\\"restored\\",\\"sha256\\":\\"$RESTORED_SHA256\\",\\"tableCount\\":$(wc -l <"$WORK/tables.json")}"',
    '',
  ].join('\n');
}

/**
 * Checks the stored object's sha256, restores it into a new database (hashing it again on the
 * way), analyzes it, and swaps it in under the application database's name: new sessions are
 * refused, the open ones ended, and both renames happen in one transaction, so clients see the old
 * contents or the new ones and a failed restore leaves the application database as it was. The
 * replaced database is dropped. Everything restored is created by the application role, logged in
 * as itself (--no-owner), so it owns the tables whatever roles owned them when the dump was made.
 */
export function restoreScript(input: SwapInput): string {
  return [
    ...header('restore', 'replaces the application database with a backup.', input, [
      ['DATABASE', input.database],
      ['OWNER', input.owner],
      ['RECORDED_SHA256', input.recordedSha256],
      ['SWAP_DEADLINE_SECONDS', String(input.swapDeadlineSeconds)],
    ]),
    'STARTED_MS="$(date +%s%3N)"',
    ...HELPERS,
    ...DATABASE_FUNCTIONS,
    ...LOCK,
    "INCOMING=''",
    "CONNECTIONS_CLOSED=''",
    'finish() {',
    '  local status=$?',
    '  trap - EXIT',
    '  if [ -n "$CONNECTIONS_CLOSED" ]; then',
    '    sql -d postgres -v db="$DATABASE" <<<\'ALTER DATABASE :"db" ALLOW_CONNECTIONS true;\' || echo "could not open database $DATABASE to connections again" >&2',
    '  fi',
    "  # After the swap the incoming database has the application database's name: this drops nothing then.",
    '  if [ -n "$INCOMING" ]; then drop_database "$INCOMING" || echo "could not drop $INCOMING" >&2; fi',
    '  rm -rf "$WORK"',
    '  exit "$status"',
    '}',
    'trap finish EXIT',
    'database_exists() { [ "$(sql -d postgres -v name="$1" <<<"SELECT count(*) FROM pg_catalog.pg_database WHERE datname = :\'name\';")" = 1 ]; }',
    '',
    'drop_leftovers',
    'STORED_SHA256="$(stored_sha256)"',
    '[ "$STORED_SHA256" = "$RECORDED_SHA256" ] || fail "$(mismatch "$STORED_SHA256"); nothing was restored"',
    '',
    'SUFFIX="$(random_suffix)"',
    'INCOMING="cloudseed_restore_$SUFFIX"',
    'REPLACED="cloudseed_replaced_$SUFFIX"',
    'create_database "$INCOMING"',
    'restore_into "$INCOMING"',
    '[ -z "$RESTORE_ERROR" ] || fail "pg_restore failed: $RESTORE_ERROR; $DATABASE was left as it was"',
    '[ "$RESTORED_SHA256" = "$RECORDED_SHA256" ] || fail "$(mismatch "$RESTORED_SHA256"); $DATABASE was left as it was"',
    "# pg_restore brings no planner statistics; the application should not start without them. The tenant's",
    '# index and statistics expressions run as the table owner in a security-restricted operation.',
    'sql -d "$INCOMING" <<<\'ANALYZE;\'',
    'if [ $(($(date +%s%3N) - STARTED_MS)) -gt $((SWAP_DEADLINE_SECONDS * 1000)) ]; then',
    '  fail "the restore took longer than $SWAP_DEADLINE_SECONDS s, too close to its time limit to swap the databases safely; $DATABASE was left as it was"',
    'fi',
    '',
    'if database_exists "$DATABASE"; then',
    '  # From here on new sessions are refused, so the ones ended now cannot be replaced before the rename.',
    '  CONNECTIONS_CLOSED=1',
    '  sql -d postgres -v db="$DATABASE" <<<\'ALTER DATABASE :"db" ALLOW_CONNECTIONS false;\'',
    "  SWAPPED=''",
    '  for _ in 1 2 3; do',
    '    if sql -d postgres -v db="$DATABASE" -v incoming="$INCOMING" -v replaced="$REPLACED" >/dev/null 2>"$WORK/swap.err" <<\'SQL\'; then',
    "SELECT count(pg_catalog.pg_terminate_backend(pid)) FROM pg_catalog.pg_stat_activity WHERE datname = :'db' AND pid <> pg_catalog.pg_backend_pid();",
    'BEGIN;',
    'ALTER DATABASE :"db" RENAME TO :"replaced";',
    'ALTER DATABASE :"incoming" RENAME TO :"db";',
    'COMMIT;',
    'SQL',
    '      SWAPPED=1',
    '      break',
    '    fi',
    '    # A terminated session can take a moment to go.',
    '    sleep 2',
    '  done',
    '  [ -n "$SWAPPED" ] || fail "could not swap the restored database in: $(tail_of "$WORK/swap.err"); $DATABASE was left as it was"',
    "  INCOMING=''",
    "  CONNECTIONS_CLOSED=''",
    '  drop_database "$REPLACED" || fail "the backup was restored into $DATABASE, but the database it replaced ($REPLACED) could not be dropped"',
    'else',
    '  sql -d postgres -v db="$DATABASE" -v incoming="$INCOMING" <<<\'ALTER DATABASE :"incoming" RENAME TO :"db";\'',
    "  INCOMING=''",
    'fi',
    'result "{\\"status\\":\\"restored\\",\\"sha256\\":\\"$RESTORED_SHA256\\"}"',
    '',
  ].join('\n');
}

function sqlLiteral(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}
