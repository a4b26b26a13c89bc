import { readdir, readlink, rm, rmdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { isCurrentServerCertificate, issueServerCertificate } from '../certificates.ts';
import type { KeyAndCertificate } from '../certificates.ts';
import { describeFailure, postgresAccount, rootAccount, run, runChecked } from './exec.ts';
import { ensureDir, exists, isMissing, readTextIfExists, statNoFollow, UnsafePath, writeFileAtomic } from './files.ts';
import type { NodePaths } from './paths.ts';
import { PermanentError, TransientError } from '../errors.ts';

// One local PostgreSQL server: its data directory, certificate and configuration files, and the
// pg_ctl / psql calls that manage it. PostgreSQL's programs run as the postgres OS user; the files
// root writes for it go through files.ts, which never follows a link postgres could have planted.

export const DEFAULT_POSTGRES_ROOT = '/usr/lib/postgresql';
const INCLUDE_LINE = "include_if_exists = 'cloudseed.conf'";
const START_TIMEOUT_SECONDS = 60;
const REQUIRED_PROGRAMS = ['postgres', 'initdb', 'pg_ctl', 'psql', 'pg_isready', 'pg_basebackup'] as const;

export interface Server {
  readonly name: string;
  readonly paths: NodePaths;
  readonly port: number;
  /** The major's bin directory, e.g. /usr/lib/postgresql/15/bin. */
  readonly bin: string;
}

export const binDirOf = (postgresRoot: string, major: number): string => join(postgresRoot, String(major), 'bin');

/** Majors with a server binary under the root, newest first. */
export async function installedMajors(postgresRoot: string): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir(postgresRoot);
  } catch {
    return [];
  }
  const majors: number[] = [];
  for (const entry of entries) {
    if (/^\d+$/.test(entry) && (await exists(join(binDirOf(postgresRoot, Number(entry)), 'postgres')))) majors.push(Number(entry));
  }
  return majors.sort((a, b) => b - a);
}

/** The programs a major is missing here (empty when it can run a local deployment). */
export async function missingPrograms(bin: string): Promise<string[]> {
  const missing: string[] = [];
  for (const program of REQUIRED_PROGRAMS) if (!(await exists(join(bin, program)))) missing.push(program);
  return missing;
}

// --- directories, certificate, configuration ------------------------------------------------------

/** The names clients use to reach a local server; its certificate covers every one. */
export const LOCAL_SERVER_HOSTS = ['localhost', '127.0.0.1', '::1'] as const;

/** The node's directory is root's; the ones the server writes are postgres' (paths.ts has the layout). */
export async function prepareNodeDirs(paths: NodePaths): Promise<void> {
  const postgres = postgresAccount();
  // Nodes made before the node directory was root's had it postgres'; it is taken back.
  await ensureDir(paths.root, 0o711, rootAccount(), postgres);
  for (const dir of [paths.data, paths.tlsDir, paths.logDir, paths.socketDir, paths.pgbackrestDir]) await ensureDir(dir, 0o700, postgres);
}

/**
 * The server's key and certificate, signed by the plan's CA for the names clients use, and the CA
 * certificate beside them. Kept while they are current; replaced when the CA or the names changed,
 * the end is near, or the key does not match (a configure that died between the two writes).
 */
export async function ensureServerCertificate(paths: NodePaths, authority: KeyAndCertificate): Promise<void> {
  const postgres = postgresAccount();
  // Whatever is not a plain file there (a planted symlink, say) is not current and is replaced.
  const read = async (file: string) => {
    try {
      return await readTextIfExists(file);
    } catch (error) {
      if (error instanceof UnsafePath) return undefined;
      throw error;
    }
  };
  const current = { certificatePem: (await read(paths.certFile)) ?? '', privateKeyPem: (await read(paths.keyFile)) ?? '' };
  if (!isCurrentServerCertificate(current, authority.certificatePem, LOCAL_SERVER_HOSTS)) {
    const issued = await issueServerCertificate(authority, LOCAL_SERVER_HOSTS);
    await writeFileAtomic(paths.keyFile, issued.privateKeyPem, 0o600, postgres);
    await writeFileAtomic(paths.certFile, issued.certificatePem, 0o644, postgres);
  }
  if ((await readTextIfExists(paths.caFile)) !== authority.certificatePem)
    await writeFileAtomic(paths.caFile, authority.certificatePem, 0o644, postgres);
}

/**
 * Empties a directory postgres owns, as postgres: whatever it may have planted in there (symlinks
 * to elsewhere, a directory swapped mid-way) can then only reach what postgres itself may delete.
 */
export async function emptyPostgresDir(dir: string): Promise<void> {
  if (!(await statNoFollow(dir))?.isDirectory()) return;
  await runChecked(`emptying ${dir}`, 'find', [dir, '-mindepth', '1', '-delete'], { asPostgres: true });
}

/** Removes a stopped node's directory: postgres empties its own directories, root removes the rest. */
export async function removeNodeDir(paths: NodePaths): Promise<void> {
  const root = await statNoFollow(paths.root);
  if (root === undefined) return;
  // A node made before the node directory was root's: take it back first, so nothing in it can move.
  if (root.uid !== 0) await ensureDir(paths.root, 0o711, rootAccount(), postgresAccount());
  for (const dir of [paths.data, paths.tlsDir, paths.logDir, paths.socketDir, paths.pgbackrestDir, paths.configDir]) {
    await emptyPostgresDir(dir);
    await rmdir(dir).catch((error: unknown) => {
      if (!isMissing(error)) throw error;
    });
  }
  await rm(paths.root, { recursive: true, force: true });
}

/** Writes cloudseed.conf, pg_hba.conf and pg_ident.conf into the data directory and makes postgresql.conf include the first. */
export async function writeServerConfig(paths: NodePaths, conf: string, hba: string, ident: string): Promise<void> {
  const postgres = postgresAccount();
  await writeFileAtomic(join(paths.data, 'cloudseed.conf'), conf, 0o600, postgres);
  await writeFileAtomic(join(paths.data, 'pg_ident.conf'), ident, 0o600, postgres);
  await writeFileAtomic(join(paths.data, 'pg_hba.conf'), hba, 0o600, postgres);
  const mainConf = join(paths.data, 'postgresql.conf');
  const current = (await readTextIfExists(mainConf)) ?? '';
  if (!current.split('\n').includes(INCLUDE_LINE)) {
    const separator = current === '' || current.endsWith('\n') ? '' : '\n';
    await writeFileAtomic(mainConf, `${current}${separator}${INCLUDE_LINE}\n`, 0o600, postgres);
  }
}

/**
 * A cluster member's files: the same settings, pg_hba.conf and pg_ident.conf in the member's config
 * directory, outside the data directory (a clone or pg_rewind copies the leader's data directory
 * whole), and patroni.yml, which points its PostgreSQL at them.
 */
export async function writeMemberConfig(paths: NodePaths, conf: string, hba: string, ident: string, patroni: string): Promise<void> {
  const postgres = postgresAccount();
  await ensureDir(paths.configDir, 0o700, postgres);
  await writeFileAtomic(join(paths.configDir, 'postgresql.conf'), conf, 0o600, postgres);
  await writeFileAtomic(join(paths.configDir, 'pg_ident.conf'), ident, 0o600, postgres);
  await writeFileAtomic(join(paths.configDir, 'pg_hba.conf'), hba, 0o600, postgres);
  await writeFileAtomic(paths.patroniConfig, patroni, 0o600, postgres);
}

/** A member's data directory started without Patroni (a restore): postgresql.conf points at the member's own files. */
export async function pointAtMemberConfig(paths: NodePaths): Promise<void> {
  const quote = (path: string) => `'${path.replaceAll("'", "''")}'`;
  const conf = [
    '# Written by CloudSeed while Patroni does not run this server; Patroni writes its own when it takes the server back.',
    `include ${quote(join(paths.configDir, 'postgresql.conf'))}`,
    `hba_file = ${quote(join(paths.configDir, 'pg_hba.conf'))}`,
    `ident_file = ${quote(join(paths.configDir, 'pg_ident.conf'))}`,
    '',
  ].join('\n');
  await writeFileAtomic(join(paths.data, 'postgresql.conf'), conf, 0o600, postgresAccount());
}

// --- cluster creation -----------------------------------------------------------------------------

export const isInitialised = (paths: NodePaths): Promise<boolean> => exists(join(paths.data, 'PG_VERSION'));
export const isStandby = (paths: NodePaths): Promise<boolean> => exists(join(paths.data, 'standby.signal'));

let utf8LocaleAvailable: boolean | undefined;

async function hasCUtf8Locale(): Promise<boolean> {
  if (utf8LocaleAvailable === undefined) {
    const result = await run('locale', ['-a']).catch(() => undefined);
    utf8LocaleAvailable = result?.code === 0 && result.stdout.split('\n').some((name) => /^c\.utf-?8$/i.test(name.trim()));
  }
  return utf8LocaleAvailable;
}

export async function initdb(server: Server): Promise<void> {
  // A data directory left half-made by an interrupted initdb has no PG_VERSION; initdb wants it empty.
  await emptyPostgresDir(server.paths.data);
  const locale = (await hasCUtf8Locale()) ? ['--locale=C.UTF-8'] : ['--no-locale'];
  await runChecked(
    `initdb for ${server.name}`,
    join(server.bin, 'initdb'),
    ['-D', server.paths.data, '-U', 'postgres', '--auth-local=peer', '--auth-host=scram-sha-256', '--data-checksums', '--encoding=UTF8', ...locale],
    { asPostgres: true, binDir: server.bin },
  );
}

/** A libpq connection string; values are quoted so that paths with spaces or quotes survive. */
export function conninfo(params: Readonly<Record<string, string | number>>): string {
  return Object.entries(params)
    .map(([key, value]) => `${key}='${String(value).replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`)
    .join(' ');
}

// --- process control ------------------------------------------------------------------------------

export async function postmasterPid(paths: NodePaths): Promise<number | undefined> {
  const text = await readTextIfExists(join(paths.data, 'postmaster.pid'));
  const pid = Number(text?.split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** True when the pid file names a live postgres process (not a stale file whose pid was reused). */
export async function isRunning(paths: NodePaths): Promise<boolean> {
  const pid = await postmasterPid(paths);
  return pid !== undefined && (await isPostgresProcess(pid));
}

async function isPostgresProcess(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // /proc/<pid>/stat is "pid (comm) state ...". A killed postmaster whose parent (pg_ctl's, so init)
  // has not reaped it yet is a zombie: it still answers kill(0) but serves nothing.
  const procStat = await readTextIfExists(`/proc/${pid}/stat`);
  if (procStat === undefined) return false;
  const match = /^\d+ \((.*)\) (\S)/.exec(procStat);
  return match?.[1] === 'postgres' && match[2] !== 'Z';
}

function pgCtl(server: Server, args: readonly string[]) {
  return run(join(server.bin, 'pg_ctl'), ['-D', server.paths.data, ...args], {
    asPostgres: true,
    binDir: server.bin,
    timeoutMs: (START_TIMEOUT_SECONDS + 30) * 1000,
  });
}

export async function startServer(server: Server): Promise<void> {
  await clearStaleLock(server);
  const since = Date.now();
  const result = await pgCtl(server, ['start', '-w', '-t', String(START_TIMEOUT_SECONDS), '-s', '-l', server.paths.startupLog]);
  if (result.code !== 0)
    throw new PermanentError(`PostgreSQL on ${server.name} did not start: ${await startFailureReason(server.paths, since, describeFailure(result))}`);
}

export async function restartServer(server: Server): Promise<void> {
  const since = Date.now();
  const result = await pgCtl(server, ['restart', '-w', '-t', String(START_TIMEOUT_SECONDS), '-s', '-m', 'fast', '-l', server.paths.startupLog]);
  if (result.code !== 0)
    throw new PermanentError(
      `PostgreSQL on ${server.name} did not restart: ${await startFailureReason(server.paths, since, describeFailure(result))}`,
    );
}

export async function reloadServer(server: Server): Promise<void> {
  const result = await pgCtl(server, ['reload', '-s']);
  if (result.code !== 0) throw new PermanentError(`PostgreSQL on ${server.name} did not reload its configuration: ${describeFailure(result)}`);
}

/** Stops the server: fast (clients disconnected, clean checkpoint), then immediate, then SIGKILL. Quiet when it is not running. */
export async function stopServer(server: Server): Promise<void> {
  if (!(await isRunning(server.paths))) return;
  for (const mode of ['fast', 'immediate']) {
    // pg_ctl may be gone (the major was uninstalled); the pid file is enough to finish the job.
    const result = await pgCtl(server, ['stop', '-w', '-t', '30', '-s', '-m', mode]).catch(() => undefined);
    if (result?.code === 0 || !(await isRunning(server.paths))) return;
  }
  const pid = await postmasterPid(server.paths);
  if (pid !== undefined && (await isPostgresProcess(pid))) {
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => !(await isPostgresProcess(pid)), 10_000);
  }
}

/**
 * After a crash postmaster.pid still names the dead postmaster. PostgreSQL ignores a lock whose pid
 * is gone, but not one whose pid is a zombie that init has not reaped yet (containers often reap
 * late), or a pid some other process has taken since. Once no process works in the data directory
 * any more, such a lock protects nothing and is removed.
 */
async function clearStaleLock(server: Server): Promise<void> {
  const pid = await postmasterPid(server.paths);
  if (pid === undefined || (await isPostgresProcess(pid))) return;
  await waitFor(async () => !(await dataDirInUse(server.paths)), 15_000);
  if (await dataDirInUse(server.paths)) {
    throw new TransientError(`processes of ${server.name}'s previous server still use its data directory; try again when they have exited`);
  }
  if (processExists(pid)) {
    await rm(join(server.paths.data, 'postmaster.pid'), { force: true });
    await rm(join(server.paths.socketDir, `.s.PGSQL.${server.port}.lock`), { force: true });
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** True while any live process has the data directory as its working directory (every PostgreSQL process does). */
async function dataDirInUse(paths: NodePaths): Promise<boolean> {
  for (const entry of await readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => undefined);
    if (cwd === paths.data) return true;
  }
  return false;
}

/**
 * pg_isready's answer: 0 accepting, 1 rejecting (starting or stopping), 2 no response, 3 not attempted.
 * It asks over TCP as the application role, the way clients come in: the server answers with its
 * SCRAM challenge, which is proof enough, and logs one line instead of a whole session.
 */
export async function readiness(server: Server, login: { readonly database: string; readonly username: string }): Promise<number | null> {
  const result = await run(
    join(server.bin, 'pg_isready'),
    ['-q', '-h', '127.0.0.1', '-p', String(server.port), '-t', '3', '-d', login.database, '-U', login.username],
    {
      binDir: server.bin,
    },
  );
  return result.code;
}

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The lines that explain a failed start: FATAL/PANIC lines the server logged since the attempt, else pg_ctl's own output. */
async function startFailureReason(paths: NodePaths, since: number, pgCtlOutput: string): Promise<string> {
  const lines: string[] = [];
  for (const file of await logFilesSince(paths, since)) {
    const text = (await readTextIfExists(file)) ?? '';
    for (const line of text.split('\n')) {
      // log_line_prefix starts with %m: "2025-01-31 12:00:00.123 UTC [pid] ...".
      const stamp = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?) UTC/.exec(line);
      // Only the server's own lines: a client's refused login says "user@db" before its FATAL.
      if (stamp && Date.parse(`${stamp[1]}T${stamp[2]}Z`) >= since - 1000 && /^\S+ \S+ UTC \[\d+\] (FATAL|PANIC):/.test(line)) lines.push(line);
    }
  }
  const serverSays = lines.slice(-3).map((line) => line.replace(/^.*?\b(FATAL|PANIC):\s*/, '$1: '));
  return serverSays.length > 0 ? serverSays.join(' | ') : pgCtlOutput;
}

async function logFilesSince(paths: NodePaths, since: number): Promise<string[]> {
  const files: string[] = [];
  for (const name of await readdir(paths.logDir).catch(() => [])) {
    const file = join(paths.logDir, name);
    const info = await stat(file).catch(() => undefined);
    if (info?.isFile() && info.mtimeMs >= since - 1000) files.push(file);
  }
  return files;
}

// --- SQL as the local superuser -------------------------------------------------------------------

/** Runs SQL (given on standard input, so nothing secret is in argv) as `postgres` over the Unix socket. */
export async function adminSql(server: Server, sql: string, database = 'postgres'): Promise<string> {
  return runChecked(
    `SQL on ${server.name}`,
    join(server.bin, 'psql'),
    ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', server.paths.socketDir, '-p', String(server.port), '-U', 'postgres', '-d', database],
    { asPostgres: true, binDir: server.bin, input: sql },
  );
}

export interface ConfigCheck {
  /** Settings the running server can only take by restarting. */
  readonly needRestart: readonly string[];
  /** Mistakes in the files that would stop a restart; the running server keeps its old settings. */
  readonly errors: readonly string[];
}

/**
 * Reads the configuration files as they are now on disk (pg_file_settings and pg_hba_file_rules
 * parse them at query time), so the decision to reload or restart does not race the reload itself.
 */
export async function checkConfig(server: Server): Promise<ConfigCheck> {
  const output = await adminSql(
    server,
    [
      "SELECT 'restart', name FROM pg_file_settings WHERE error = 'setting could not be applied'",
      'UNION ALL',
      "SELECT 'error', format('%s (%s line %s): %s', coalesce(name, '?'), sourcefile, sourceline, error) FROM pg_file_settings WHERE error IS NOT NULL AND error <> 'setting could not be applied'",
      'UNION ALL',
      "SELECT 'error', format('pg_hba.conf line %s: %s', line_number, error) FROM pg_hba_file_rules WHERE error IS NOT NULL;",
    ].join('\n'),
  );
  const needRestart: string[] = [];
  const errors: string[] = [];
  for (const line of output.split('\n').filter((entry) => entry !== '')) {
    const [kind, ...rest] = line.split('|');
    (kind === 'restart' ? needRestart : errors).push(rest.join('|'));
  }
  return { needRestart: [...new Set(needRestart)], errors };
}
