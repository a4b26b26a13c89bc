import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { postgresAccount, postgresEnvironment } from './exec.ts';
import type { Server } from './server.ts';

// PostgreSQL's programs whose standard streams are data rather than a few lines: pg_dump writing an
// archive, pg_restore reading one, and a psql session that stays open while they run. They get the
// same fixed environment as exec.ts's `run` (never the local cloud's own, which may hold AWS
// credentials), run as the postgres OS user, and reach the server over its Unix socket as the
// `postgres` superuser through peer authentication, so no password exists anywhere, with the search
// path pinned to pg_catalog (exec.ts).

/** Standard error is kept for the reason of a failure; its end says why, so only the end is kept. */
const STDERR_LIMIT = 16 * 1024;

export interface ToolExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
}

export interface PostgresTool {
  readonly child: ChildProcessWithoutNullStreams;
  /** Settles once the program has exited and its streams are closed; never rejects. */
  readonly exited: Promise<ToolExit>;
}

/** The arguments that reach `server` as the superuser over its socket (libpq's -h/-p/-U). */
export const superuserLogin = (server: Server): string[] => ['-h', server.paths.socketDir, '-p', String(server.port), '-U', 'postgres'];

/** The arguments that reach `server` as the application role `owner` over its socket, through the owner map of pg_ident.conf. */
export const ownerLogin = (server: Server, owner: string): string[] => ['-h', server.paths.socketDir, '-p', String(server.port), '-U', owner];

export function startTool(server: Server, program: string, args: readonly string[]): PostgresTool {
  const account = postgresAccount();
  const child = spawn(join(server.bin, program), args, {
    cwd: '/',
    env: { ...postgresEnvironment(server.bin, account), PGAPPNAME: `cloudseed ${program}` },
    stdio: ['pipe', 'pipe', 'pipe'],
    uid: account.uid,
    gid: account.gid,
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_LIMIT);
  });
  // A program that exits before reading all its input must not crash the caller with EPIPE.
  child.stdin.on('error', () => undefined);
  const exited = new Promise<ToolExit>((resolve) => {
    child.once('error', (error) => resolve({ code: null, signal: null, stderr: `could not run ${program}: ${error.message}` }));
    child.once('close', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { child, exited };
}

/** libpq's explanation under "server closed the connection unexpectedly", which says nothing more. */
const BOILERPLATE = new Set(['This probably means the server terminated abnormally', 'before or while processing the request.']);

/** The last few lines a program wrote to standard error, as one line, without the programs' own prefixes. */
export function failureOf(exit: ToolExit): string {
  const lines = exit.stderr
    .split('\n')
    .map((line) => line.replace(/^(pg_dump|pg_dumpall|pg_restore|psql)(:[^:\s]*:\d+)?: ((error|detail|hint|warning): )?/, '').trim())
    .filter((line) => line !== '' && !BOILERPLATE.has(line));
  const said = lines.slice(-4).join(' | ');
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${String(exit.code)}`;
  return said === '' ? how : `${said} (${how})`;
}

/**
 * One psql session driven statement by statement, so that a transaction can stay open while other
 * programs work in it (pg_dump importing its snapshot). Each batch is followed by an `\echo` of a
 * marker line; what psql printed before the marker is the batch's output. With ON_ERROR_STOP a
 * failing statement ends psql, and the pending batch fails with psql's error.
 */
export class SqlSession {
  readonly #tool: PostgresTool;
  #output = '';
  #batches = 0;
  #pending: { readonly marker: string; readonly resolve: (output: string) => void; readonly reject: (error: Error) => void } | undefined;
  #queue: Promise<unknown> = Promise.resolve();
  #ended: ToolExit | undefined;

  /** `dbname` is a database name or a libpq connection string. */
  constructor(server: Server, dbname: string) {
    this.#tool = startTool(server, 'psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', ...superuserLogin(server), '-d', dbname]);
    this.#tool.child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      this.#output += chunk;
      this.#settle();
    });
    void this.#tool.exited.then((exit) => {
      this.#ended = exit;
      this.#pending?.reject(new Error(`the SQL session ended: ${failureOf(exit)}`));
      this.#pending = undefined;
    });
  }

  /** Runs statements (each ending in `;`) and returns what they printed, unaligned and without headers. */
  query(sql: string): Promise<string> {
    const result = this.#queue.then(() => this.#send(sql));
    this.#queue = result.catch(() => undefined);
    return result;
  }

  /** Ends the session; an open transaction is rolled back unless the caller committed it. */
  async close(): Promise<void> {
    if (this.#ended) return;
    await this.#queue;
    this.#tool.child.stdin.end('\\q\n');
    await this.#tool.exited;
  }

  kill(): void {
    if (!this.#ended) this.#tool.child.kill('SIGKILL');
  }

  #send(sql: string): Promise<string> {
    if (this.#ended) return Promise.reject(new Error(`the SQL session ended: ${failureOf(this.#ended)}`));
    this.#batches += 1;
    const marker = `__cloudseed_batch_${this.#batches}_done__`;
    return new Promise<string>((resolve, reject) => {
      this.#pending = { marker, resolve, reject };
      this.#tool.child.stdin.write(`${sql}\n\\echo ${marker}\n`);
    });
  }

  #settle(): void {
    const pending = this.#pending;
    if (!pending) return;
    const line = `${pending.marker}\n`;
    let at = 0;
    if (!this.#output.startsWith(line)) {
      const found = this.#output.indexOf(`\n${line}`);
      if (found < 0) return;
      at = found + 1;
    }
    const output = this.#output.slice(0, at);
    this.#output = this.#output.slice(at + line.length);
    this.#pending = undefined;
    pending.resolve(output);
  }
}
