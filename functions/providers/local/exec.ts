import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PINNED_SEARCH_PATH_OPTIONS } from '@cloudseed/shared/postgres/admin-session';
import { PermanentError } from '../errors.ts';

// Every program the local provider runs goes through here: a fixed environment (never the local
// cloud's own, which may hold AWS credentials), secrets only in `env` or `input`, never in argv,
// and PostgreSQL's programs as the `postgres` OS user because initdb and the server refuse root.
// The postgres OS user's clients log in as the superuser (peer), so their sessions get the pinned
// search path (admin-session.ts): a tenant's functions and operators in `public` are never found.

export interface OsAccount {
  readonly uid: number;
  readonly gid: number;
  readonly home: string;
}

let postgresAccountCache: OsAccount | undefined;

/** The `postgres` OS user that Debian's package creates; the servers run as it. */
export function postgresAccount(): OsAccount {
  if (postgresAccountCache) return postgresAccountCache;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const fields = line?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (!fields || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new PermanentError('there is no postgres OS user on this machine; install the postgresql package, which creates it');
  }
  postgresAccountCache = { uid, gid, home: fields[5] ?? '/' };
  return postgresAccountCache;
}

/** The account the local cloud itself runs as (root: it starts servers as postgres). */
export function rootAccount(): OsAccount {
  return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home: '/root' };
}

/** The fixed environment of a program run as the postgres OS user (pg-process.ts starts its tools with it too). */
export function postgresEnvironment(bin: string | undefined, account: OsAccount): Record<string, string> {
  return { PATH: searchPath(bin), LANG: 'C.UTF-8', TZ: 'UTC', HOME: account.home, PGOPTIONS: PINNED_SEARCH_PATH_OPTIONS };
}

const searchPath = (bin: string | undefined): string => [bin, '/usr/local/bin', '/usr/bin', '/bin'].filter((entry) => entry !== undefined).join(':');

export interface RunOptions {
  /** Run as the postgres OS user instead of the caller. */
  readonly asPostgres?: boolean;
  /** Added to the fixed environment; the only way a password reaches a child. */
  readonly env?: Readonly<Record<string, string>>;
  /** Written to the child's standard input, then closed. */
  readonly input?: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
  /** Directory put first on PATH (a PostgreSQL major's bin directory). */
  readonly binDir?: string;
}

export interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;

export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const account = options.asPostgres ? postgresAccount() : undefined;
  const base = account
    ? postgresEnvironment(options.binDir, account)
    : { PATH: searchPath(options.binDir), LANG: 'C.UTF-8', TZ: 'UTC', HOME: '/root' };
  const env = { ...base, ...options.env };
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd ?? '/',
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(account ? { uid: account.uid, gid: account.gid } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => reject(new Error(`could not run ${file}: ${error.message}`)));
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    // A child that exits before reading its input must not crash the caller with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input ?? '');
  });
}

/** Runs a program and returns its standard output; a non-zero exit becomes an Error saying what failed. */
export async function runChecked(what: string, file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new Error(`${what} failed: ${describeFailure(result)}`);
  return result.stdout;
}

export function describeFailure(result: RunResult): string {
  const output = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-4).join(' | ');
  const exit = result.signal ? `killed by ${result.signal}` : `exit code ${String(result.code)}`;
  return output === '' ? exit : `${output} (${exit})`;
}
