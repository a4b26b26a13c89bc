import { gunzipSync } from 'node:zlib';
import { findOs } from '@cloudseed/shared/postgres/os';
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
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import { PermanentError } from '../errors.ts';
import type { NodeRef } from '../provider.ts';
import { serverValues } from './backup-scripts.ts';
import type { BackupHost, CommandLimits } from './host.ts';

// A cloud database's top statements (and their reset), read on its primary by sh/top-queries.sh
// with the same statements the local cloud runs (shared/src/metrics/queries.ts): the extension in
// CloudSeed's schema, the list read as the application role, a reset only where a superuser owns
// that schema. The answer travels gzip'd in the script's result line.

const MAX_RESULT_CHARS = 20_000;
const LIMITS: CommandLimits = { commandSeconds: 60, pollMs: 1_000, polls: 60 };

export interface StatementsOf {
  readonly database: string;
  readonly role: string;
}

export function topQueriesScript(host: BackupHost, of: StatementsOf, querySql: string): string {
  const { os, postgres } = host.component;
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major)) throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major}`);
  return renderNodeScript(
    'top-queries: the application’s statements from pg_stat_statements.',
    {
      TASK: 'top-queries',
      DATABASE: of.database,
      ENABLE_SQL: enableStatementsSql(of.role),
      SCHEMA_SQL: EXTENSION_SCHEMA_SQL,
      EXPECTED_SCHEMA: `${STATS_SCHEMA}|trusted`,
      QUERY_SQL: querySql,
      MAX_RESULT_CHARS: String(MAX_RESULT_CHARS),
      ...serverValues({ binDir: image.binDir(postgres.major), port: postgres.port }),
    },
    ['task-helpers.sh', 'top-queries.sh'],
    host.cloud,
  );
}

async function run(host: BackupHost, primary: NodeRef, of: StatementsOf, querySql: string): Promise<string> {
  host.checkNode(primary);
  const what = `reading the top queries of ${of.database} on ${host.nodeLabel(primary)}`;
  let result;
  try {
    result = await host.run(primary, 'top-queries', topQueriesScript(host, of, querySql), what, { limits: LIMITS });
  } catch (error) {
    // The application made a schema of CloudSeed's name first: it is not used (its code would run as the superuser).
    if (error instanceof PermanentError && error.message.includes(FOREIGN_SCHEMA))
      throw new PermanentError(
        `the database has a schema ${STATS_SCHEMA} of its own; CloudSeed keeps pg_stat_statements there. Rename or drop it to see the top queries.`,
      );
    throw error;
  }
  if (typeof result['result'] !== 'string') throw new PermanentError(`${what} gave no answer`);
  try {
    return gunzipSync(Buffer.from(result['result'], 'base64')).toString('utf8').trim();
  } catch {
    throw new PermanentError(`${what} gave an answer that is not gzip`);
  }
}

export async function readTopQueries(host: BackupHost, primary: NodeRef, of: StatementsOf, request: TopQueriesRequest): Promise<TopQuery[]> {
  return parseTopQueries(await run(host, primary, of, topQueriesSql(STATS_SCHEMA, of.database, of.role, request)));
}

export async function resetTopQueries(host: BackupHost, primary: NodeRef, of: StatementsOf): Promise<void> {
  await run(host, primary, of, resetQueriesSql(STATS_SCHEMA, of.database, of.role));
}
