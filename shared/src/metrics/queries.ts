import type { FieldProblem } from '../errors.ts';
import { quoteIdentifier, quoteLiteral } from '../postgres/sql.ts';

// Top queries: what pg_stat_statements (preloaded on every node) has counted of the application
// role's statements in its database, normalised by PostgreSQL itself (constants become $1, $2…, so
// no value a statement carried, a password included, is in the text). CloudSeed's own sessions run
// as other roles and are not listed.
//
// No tenant code runs as the superuser: the extension is made in CloudSeed's own schema (which the
// application may use, not change), the list is read as the application role (SET ROLE, so the view
// shows that role's statements), and a reset, which only a superuser may do, calls the extension's
// function only where it lives in a schema a superuser owns.

/** The orders a request may ask for, and the column each sorts by (descending). */
export const QUERY_ORDERS = {
  total_time: 'total_exec_time',
  mean_time: 'mean_exec_time',
  calls: 'calls',
  rows: 'rows',
  shared_blocks_read: 'shared_blks_read',
} as const;

export type QueryOrder = keyof typeof QUERY_ORDERS;

export const MAX_QUERIES = 100;
const DEFAULT_QUERIES = 20;
/** The longest text answered of one statement. */
const TEXT_LIMIT = 4000;

export interface TopQueriesRequest {
  readonly order: QueryOrder;
  readonly limit: number;
}

export interface TopQuery {
  readonly queryId: string;
  readonly query: string;
  readonly calls: number;
  readonly totalTimeMs: number;
  readonly meanTimeMs: number;
  readonly rows: number;
  readonly sharedBlocksHit: number;
  readonly sharedBlocksRead: number;
}

export type TopQueriesRequestResult =
  { readonly ok: true; readonly request: TopQueriesRequest } | { readonly ok: false; readonly errors: FieldProblem[] };

/** `?order=<total_time|mean_time|calls|rows|shared_blocks_read>&limit=<1-100>`, each problem naming its parameter. */
export function parseTopQueriesRequest(params: Readonly<Record<string, string | undefined>>): TopQueriesRequestResult {
  const errors: FieldProblem[] = [];
  const order = params['order'] ?? 'total_time';
  if (!Object.hasOwn(QUERY_ORDERS, order)) errors.push({ path: '?order', message: `must be one of ${Object.keys(QUERY_ORDERS).join(', ')}` });
  const limit = params['limit'] === undefined ? DEFAULT_QUERIES : Number(params['limit']);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_QUERIES)
    errors.push({ path: '?limit', message: `must be a whole number from 1 to ${MAX_QUERIES}` });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, request: { order: order as QueryOrder, limit } };
}

/** CloudSeed's schema for the extension in each application database: owned by the superuser, used by the application. */
export const STATS_SCHEMA = 'cloudseed_stats';

/** What enableStatementsSql fails with when the application owns a schema of that name. */
export const FOREIGN_SCHEMA = `schema ${STATS_SCHEMA} belongs to the application, not to CloudSeed`;

/** Makes the view readable in the database (the library is preloaded; the extension is its SQL face), unless it is there. Run as the superuser. */
export function enableStatementsSql(role: string): string {
  return [
    // A schema of that name the application made first is not used: the extension's script would run there as the superuser.
    `DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner WHERE n.nspname = '${STATS_SCHEMA}' AND NOT r.rolsuper) THEN RAISE EXCEPTION '${FOREIGN_SCHEMA}'; END IF; END $$;`,
    `CREATE SCHEMA IF NOT EXISTS ${STATS_SCHEMA} AUTHORIZATION postgres;`,
    `GRANT USAGE ON SCHEMA ${STATS_SCHEMA} TO ${quoteIdentifier(role)};`,
    `CREATE EXTENSION IF NOT EXISTS pg_stat_statements SCHEMA ${STATS_SCHEMA};`,
  ].join('\n');
}

/** The schema the extension lives in, and whether a superuser owns it, as `<schema>|<trusted or untrusted>`. */
export const EXTENSION_SCHEMA_SQL = `SELECT n.nspname || '|' || CASE WHEN r.rolsuper THEN 'trusted' ELSE 'untrusted' END FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace JOIN pg_roles r ON r.oid = n.nspowner WHERE e.extname = 'pg_stat_statements';`;

/**
 * The role's top statements in the database as one JSON array (`[]` for none): run in that
 * database, as that role. The session's own statements are not counted (track = none, which only a
 * superuser may set, before it takes the role), so reading the list never adds to it.
 */
export function topQueriesSql(schema: string, database: string, role: string, request: TopQueriesRequest): string {
  const column = QUERY_ORDERS[request.order];
  return `SET pg_stat_statements.track = 'none';
SET ROLE ${quoteIdentifier(role)};
SELECT coalesce(json_agg(q), '[]') FROM (
  SELECT s.queryid::text AS "queryId", left(s.query, ${TEXT_LIMIT}) AS query, s.calls, s.total_exec_time AS "totalTimeMs",
         s.mean_exec_time AS "meanTimeMs", s.rows, s.shared_blks_hit AS "sharedBlocksHit", s.shared_blks_read AS "sharedBlocksRead"
    FROM ${quoteIdentifier(schema)}.pg_stat_statements s
    JOIN pg_catalog.pg_database d ON d.oid = s.dbid
    JOIN pg_catalog.pg_roles r ON r.oid = s.userid
   WHERE d.datname = ${quoteLiteral(database)} AND r.rolname = ${quoteLiteral(role)}
   ORDER BY s.${column} DESC, s.queryid
   LIMIT ${request.limit}
) q;`;
}

/** Forgets the counts of the role's statements in the database, so its list starts again from now. Run as the superuser, only with `schema` a superuser's. */
export function resetQueriesSql(schema: string, database: string, role: string): string {
  return `SELECT ${quoteIdentifier(schema)}.pg_stat_statements_reset((SELECT oid FROM pg_catalog.pg_roles WHERE rolname = ${quoteLiteral(role)}), (SELECT oid FROM pg_catalog.pg_database WHERE datname = ${quoteLiteral(database)}), 0);`;
}

/** The array topQueriesSql prints, read back; a RangeError when it is not one. */
export function parseTopQueries(text: string): TopQuery[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed)) throw new RangeError('the top queries are not a JSON array');
  return parsed.map((entry: Record<string, unknown>) => ({
    queryId: String(entry['queryId']),
    query: String(entry['query']),
    calls: Number(entry['calls']),
    totalTimeMs: Number(entry['totalTimeMs']),
    meanTimeMs: Number(entry['meanTimeMs']),
    rows: Number(entry['rows']),
    sharedBlocksHit: Number(entry['sharedBlocksHit']),
    sharedBlocksRead: Number(entry['sharedBlocksRead']),
  }));
}
