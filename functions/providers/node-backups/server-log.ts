import { gunzipSync } from 'node:zlib';
import { findOs } from '@cloudseed/shared/postgres/os';
import { renderNodeScript } from '@cloudseed/shared/targets/aws/scripts';
import { PermanentError } from '../errors.ts';
import type { NodeRef } from '../provider.ts';
import { serverValues } from './backup-scripts.ts';
import type { BackupHost, CommandLimits } from './host.ts';

// A cloud node's PostgreSQL log, for the logs API: sh/server-log.sh reads the newest end of the
// logging collector's files on the node and hands it back gzip'd in its result line, which every
// command channel carries (SSM keeps 24,000 characters of output: the script shortens what it
// reads until its result fits). The API parses and masks it (shared/src/metrics/logs.ts).

/** What is read of the log's end, at most; the script halves it until the result fits. */
export const SERVER_LOG_BYTES = 192 * 1024;
const MAX_RESULT_CHARS = 20_000;
const LOG_LIMITS: CommandLimits = { commandSeconds: 60, pollMs: 1_000, polls: 60 };

export function serverLogScript(host: BackupHost): string {
  const { os, postgres } = host.component;
  const image = findOs(os.name, os.version);
  if (!image?.pgMajors.includes(postgres.major)) throw new PermanentError(`${os.name} ${os.version} has no PostgreSQL ${postgres.major}`);
  return renderNodeScript(
    'server-log: the newest end of the PostgreSQL log, for the logs API.',
    {
      TASK: 'server-log',
      TAIL_BYTES: String(SERVER_LOG_BYTES),
      MAX_RESULT_CHARS: String(MAX_RESULT_CHARS),
      ...serverValues({ binDir: image.binDir(postgres.major), port: postgres.port }),
    },
    ['task-helpers.sh', 'server-log.sh'],
    host.cloud,
  );
}

/** The log's newest text on `node` (whole lines: a cut first line is dropped). */
export async function readServerLog(host: BackupHost, node: NodeRef): Promise<string> {
  host.checkNode(node);
  const what = `reading the PostgreSQL log of ${host.nodeLabel(node)}`;
  const result = await host.run(node, 'server-log', serverLogScript(host), what, { limits: LOG_LIMITS });
  if (typeof result['log'] !== 'string' || !/^[A-Za-z0-9+/=]*$/.test(result['log'])) throw new PermanentError(`${what} gave no log`);
  if (result['log'] === '') return '';
  let raw: Buffer;
  try {
    raw = gunzipSync(Buffer.from(result['log'], 'base64'));
  } catch {
    throw new PermanentError(`${what} gave a log that is not gzip`);
  }
  const text = raw.toString('utf8');
  // As long as what was asked for: it starts in the middle of a line, which is dropped.
  return raw.length >= Number(result['bytes']) ? text.slice(text.indexOf('\n') + 1) : text;
}
