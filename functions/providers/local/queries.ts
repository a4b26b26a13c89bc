import {
  enableStatementsSql,
  EXTENSION_SCHEMA_SQL,
  FOREIGN_SCHEMA,
  parseTopQueries,
  resetQueriesSql,
  STATS_SCHEMA,
  topQueriesSql,
} from '@cloudseed/shared/metrics/queries';
import type { TopQueriesRequest, TopQuery } from '@cloudseed/shared/metrics/queries';
import { Conflict } from '@cloudseed/shared/errors';
import { setPasswordSql } from '@cloudseed/shared/postgres/access';
import { listNodes } from './nodes.ts';
import { adminSql, binDirOf, DEFAULT_POSTGRES_ROOT, isRunning } from './server.ts';
import type { Server } from './server.ts';

// Top queries of a local database: pg_stat_statements read on its primary as the superuser, over
// the Unix socket, in the application database (where the extension is made on first use).

export interface LocalDatabase {
  readonly home: string;
  readonly planId: string;
  readonly componentId: string;
  /** The node that leads: where the application's statements run. */
  readonly node: string;
  readonly database: string;
  readonly role: string;
}

export async function localTopQueries(where: LocalDatabase, request: TopQueriesRequest): Promise<TopQuery[]> {
  const server = await serverOf(where);
  const { schema } = await extension(server, where);
  return parseTopQueries(await adminSql(server, topQueriesSql(schema, where.database, where.role, request), where.database));
}

/** Forgets the role's counts; refused where the extension lives in a schema the application could change. */
export async function resetLocalQueries(where: LocalDatabase): Promise<void> {
  const server = await serverOf(where);
  const { schema, trusted } = await extension(server, where);
  if (!trusted)
    throw new Conflict(
      `pg_stat_statements lives in schema ${schema}, which the application owns; reset it as the application: SELECT ${schema}.pg_stat_statements_reset()`,
    );
  await adminSql(server, resetQueriesSql(schema, where.database, where.role), where.database);
}

/** Makes the extension where it is missing; where it lives, and whether a superuser owns that schema. */
async function extension(server: Server, where: LocalDatabase): Promise<{ schema: string; trusted: boolean }> {
  try {
    await adminSql(server, enableStatementsSql(where.role), where.database);
  } catch (error) {
    if ((error as Error).message.includes(FOREIGN_SCHEMA))
      throw new Conflict(
        `The database has a schema ${STATS_SCHEMA} of its own; CloudSeed keeps pg_stat_statements there. Rename or drop it to see the top queries.`,
      );
    throw error;
  }
  const [schema = '', owner] = (await adminSql(server, EXTENSION_SCHEMA_SQL, where.database)).trim().split('|');
  return { schema, trusted: owner === 'trusted' };
}

async function serverOf(where: LocalDatabase): Promise<Server> {
  const known = (await listNodes(where.home)).find(
    ({ record }) => record.planId === where.planId && record.componentId === where.componentId && record.name === where.node,
  );
  if (!known || !(await isRunning(known.paths)))
    throw new Conflict(`${where.node} of the plan is not running now; its queries are read while it runs.`);
  return { name: known.record.name, paths: known.paths, port: known.record.port, bin: binDirOf(DEFAULT_POSTGRES_ROOT, known.record.major) };
}

/** Sets one of the plan's roles' password on the node that leads, as its SCRAM verifier (postgres/access.ts refuses any other role). */
export async function setLocalRolePassword(where: LocalDatabase, role: string, verifier: string): Promise<void> {
  const server = await serverOf(where);
  try {
    await adminSql(server, setPasswordSql(role, verifier));
  } catch (error) {
    if ((error as Error).message.includes('cloudseed_role_not_managed'))
      throw new Conflict(`Role ${role} is not one of the plan's roles on the database yet: deploy the plan with it first.`);
    throw error;
  }
}
