import { quoteIdentifier } from '@cloudseed/shared/postgres/sql';
import { rowHashesOf, USER_TABLES_FROM } from '../fingerprints.ts';
import type { TableFingerprint } from '../provider.ts';
import type { SqlSession } from './pg-process.ts';

// What a backup says is in it, and how a restored copy is checked against that: for every user
// table its row count and an md5 over the md5s of its rows' text, sorted, so that a table without
// a primary key has a fingerprint too and the order rows happen to be stored in does not matter.

export interface TableName {
  readonly schema: string;
  readonly name: string;
}

const USER_TABLES = `SELECT coalesce(json_agg(json_build_array(n.nspname, c.relname)), '[]')\n${USER_TABLES_FROM.join('\n')};`;

export async function listTables(session: SqlSession): Promise<TableName[]> {
  const parsed = JSON.parse(await session.query(USER_TABLES)) as [string, string][];
  return parsed.map(([schema, name]) => ({ schema, name })).sort((a, b) => compareText(tableLabel(a), tableLabel(b)));
}

export async function fingerprint(session: SqlSession, table: TableName): Promise<TableFingerprint> {
  const output = await session.query(
    `SELECT count(*), coalesce(pg_catalog.md5(pg_catalog.string_agg(h, '' ORDER BY h)), '') FROM (${rowHashesOf(qualifiedName(table))}) AS hashed;`,
  );
  const match = /^(\d+)\|([0-9a-f]{32})?\n?$/.exec(output);
  if (!match) throw new Error(`unexpected fingerprint of ${tableLabel(table)}: ${JSON.stringify(output.slice(0, 200))}`);
  return { table: tableLabel(table), rows: Number(match[1]), checksum: match[2] ?? '' };
}

export async function fingerprintAll(session: SqlSession, tables: readonly TableName[]): Promise<TableFingerprint[]> {
  const fingerprints: TableFingerprint[] = [];
  for (const table of tables) fingerprints.push(await fingerprint(session, table));
  return fingerprints;
}

export const tableLabel = (table: TableName): string => `${table.schema}.${table.name}`;
export const qualifiedName = (table: TableName): string => `${quoteIdentifier(table.schema)}.${quoteIdentifier(table.name)}`;

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
