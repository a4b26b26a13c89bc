import type { TableFingerprint, ValidationResult } from './provider.ts';

// How every provider fingerprints a database and checks a restored copy against a backup's record:
// the same session settings and the same comparison, whether the SQL runs here or over SSM.

/**
 * A row's text form depends on session settings (time zone, date and interval style, float digits,
 * bytea format); these fix it, so the dump's snapshot and a restored copy print the same rows alike.
 */
export const FINGERPRINT_SETTINGS = [
  "SET TimeZone = 'UTC';",
  "SET DateStyle = 'ISO, MDY';",
  "SET IntervalStyle = 'postgres';",
  'SET extra_float_digits = 1;',
  "SET bytea_output = 'hex';",
  'SET statement_timeout = 0;',
  'SET idle_in_transaction_session_timeout = 0;',
  'SET client_min_messages = warning;',
].join('\n');

/**
 * The tables a backup fingerprints, as the FROM and WHERE of a query over `c` (pg_class) and `n`
 * (pg_namespace): ordinary tables the database's users made, not the catalogs, not other
 * sessions' temporary tables, not an extension's own tables (the extension makes those again when
 * it is restored). The local provider and the EC2 scripts select from it alike.
 */
export const USER_TABLES_FROM = [
  'FROM pg_catalog.pg_class c',
  'JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace',
  "WHERE c.relkind = 'r'",
  "  AND c.relpersistence <> 't'",
  "  AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
  "  AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'",
  '  AND NOT EXISTS (',
  '    SELECT FROM pg_catalog.pg_depend d',
  "    WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid AND d.deptype = 'e'",
  '  )',
] as const;

/**
 * The md5 of each row's text of `relation` (a quoted, schema-qualified name), as `h`, in the C
 * collation so that every server sorts them alike. ONLY keeps an inheritance parent from counting its
 * children's rows too; the partitions of a partitioned table are ordinary tables, fingerprinted one by
 * one. ROW(r.*) rather than r: a column named like the alias would win over the whole-row reference.
 */
export const rowHashesOf = (relation: string): string => `SELECT pg_catalog.md5(ROW(r.*)::text) COLLATE "C" AS h FROM ONLY ${relation} AS r`;

/** Passed when the restored copy has exactly the recorded tables with the recorded rows; else the first difference. */
export function compareFingerprints(recorded: readonly TableFingerprint[], restored: readonly TableFingerprint[]): ValidationResult {
  const byName = new Map(restored.map((entry) => [entry.table, entry]));
  for (const expected of recorded) {
    const actual = byName.get(expected.table);
    if (!actual) return { status: 'failed', detail: `table ${expected.table} is missing from the restored copy` };
    if (actual.rows !== expected.rows || actual.checksum !== expected.checksum) {
      return {
        status: 'failed',
        detail:
          `table ${expected.table} differs: the restored copy has ${actual.rows} rows (checksum ${actual.checksum || 'none'}), ` +
          `the backup recorded ${expected.rows} rows (checksum ${expected.checksum || 'none'})`,
      };
    }
  }
  const recordedNames = new Set(recorded.map((entry) => entry.table));
  const unexpected = restored.find((entry) => !recordedNames.has(entry.table));
  if (unexpected) return { status: 'failed', detail: `table ${unexpected.table} is in the restored copy but not in the backup's record` };
  const rows = recorded.reduce((sum, entry) => sum + entry.rows, 0);
  return {
    status: 'passed',
    detail: `${recorded.length} ${recorded.length === 1 ? 'table' : 'tables'}, ${rows} ${rows === 1 ? 'row' : 'rows'} match`,
  };
}
