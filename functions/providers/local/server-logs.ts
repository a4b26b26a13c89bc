import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parsePostgresLog, selectEntries } from '@cloudseed/shared/metrics/logs';
import type { LogEntry, LogsRequest } from '@cloudseed/shared/metrics/logs';
import { readTailIfExists } from './files.ts';
import type { NodePaths } from './paths.ts';

// A local node's PostgreSQL log: the logging collector's files (one per weekday, log/postgresql-Mon.log
// …), read newest first from their ends until the entries asked for are found or a bounded amount
// has been read. The files are postgres', so each is opened without following a link.

const LOG_FILE = /^postgresql-[A-Z][a-z]{2}\.log$/;
/** The most read of one file, and of all of them, for one answer. */
const FILE_BYTES = 4 * 1024 * 1024;
const TOTAL_BYTES = 16 * 1024 * 1024;

export async function localServerLog(paths: NodePaths, request: Pick<LogsRequest, 'tail' | 'search'>): Promise<LogEntry[]> {
  const names = (await readdir(paths.logDir).catch(() => [] as string[])).filter((name) => LOG_FILE.test(name));
  const files = (
    await Promise.all(names.map(async (name) => ({ name, read: await readTailIfExists(join(paths.logDir, name), FILE_BYTES) })))
  ).flatMap(({ read }) => (read ? [read] : []));
  // Newest file first; a weekday's file is emptied when its day comes round again.
  files.sort((a, b) => b.modified - a.modified);
  let found: LogEntry[] = [];
  let read = 0;
  for (const file of files) {
    found = [...selectEntries(parsePostgresLog(file.text), request), ...found];
    read += file.text.length;
    if (found.length >= request.tail || read >= TOTAL_BYTES) break;
  }
  return found.slice(-request.tail);
}
