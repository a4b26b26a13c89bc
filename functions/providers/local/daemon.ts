import { spawn } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { postgresAccount, postgresEnvironment } from './exec.ts';
import { readTextIfExists, writeFileAtomic } from './files.ts';

// Long-running programs of the local cloud other than PostgreSQL itself (Patroni, etcd): started
// detached as the postgres OS user, like the servers pg_ctl starts, so that they outlive a request;
// their pid and log files sit in root's node directories, where postgres cannot plant a link.

export interface Daemon {
  /** Said in errors: "Patroni of db-1". */
  readonly name: string;
  readonly program: string;
  readonly args: readonly string[];
  readonly pidFile: string;
  readonly logFile: string;
  readonly cwd: string;
  /** A PostgreSQL bin directory put first on PATH. */
  readonly binDir?: string;
}

/** Starts the daemon unless it runs already; answers its pid. */
export async function startDaemon(daemon: Daemon): Promise<number> {
  const running = await daemonPid(daemon);
  if (running !== undefined) return running;
  const account = postgresAccount();
  const log = openSync(daemon.logFile, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
  try {
    const child = spawn(daemon.program, [...daemon.args], {
      cwd: daemon.cwd,
      env: postgresEnvironment(daemon.binDir, account),
      stdio: ['ignore', log, log],
      detached: true,
      uid: account.uid,
      gid: account.gid,
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once('error', (error) => reject(new Error(`could not start ${daemon.name}: ${error.message}`)));
      child.once('spawn', () => resolve(child.pid ?? 0));
    });
    child.unref();
    await writeFileAtomic(daemon.pidFile, `${pid}\n`, 0o600);
    return pid;
  } finally {
    closeSync(log);
  }
}

/** The daemon's pid while it runs (the pid file names a live process of that program, not a zombie). */
export async function daemonPid(daemon: Pick<Daemon, 'pidFile' | 'program'>): Promise<number | undefined> {
  const pid = Number((await readTextIfExists(daemon.pidFile))?.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  // A process that exits while it is read makes /proc answer ESRCH: it is not running.
  const proc = (name: string) => readFile(`/proc/${pid}/${name}`, 'utf8').catch(() => undefined);
  const stat = await proc('stat');
  const cmdline = await proc('cmdline');
  if (stat === undefined || cmdline === undefined || /^\d+ \(.*\) Z/.test(stat)) return undefined;
  const program = daemon.program.split('/').pop() ?? daemon.program;
  return cmdline.split('\0').some((part) => part.split('/').pop() === program) ? pid : undefined;
}

/** Stops the daemon: SIGTERM, then SIGKILL after the grace period. Quiet when it is not running. */
export async function stopDaemon(daemon: Pick<Daemon, 'pidFile' | 'program'>, graceMs: number): Promise<void> {
  const pid = await daemonPid(daemon);
  if (pid !== undefined) {
    signal(pid, 'SIGTERM');
    if (!(await exited(daemon, graceMs))) {
      const still = await daemonPid(daemon);
      if (still !== undefined) signal(still, 'SIGKILL');
      await exited(daemon, 10_000);
    }
  }
  await rm(daemon.pidFile, { force: true });
}

async function exited(daemon: Pick<Daemon, 'pidFile' | 'program'>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while ((await daemonPid(daemon)) !== undefined) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return true;
}

/** A process that exits between the check and the signal is what was wanted anyway. */
function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}
