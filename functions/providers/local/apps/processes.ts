import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readdir, readFile, readlink } from 'node:fs/promises';
import { PermanentError } from '../../errors.ts';
import type { OsAccount } from '../exec.ts';

// App code runs as `cloudseed-app`, an account that owns nothing but the apps' own directories
// (never root, never postgres), each version in its own process group so that a stop reaches
// every process it started.

export const APP_USER = 'cloudseed-app';

let appAccountCache: OsAccount | undefined;

export function appAccount(): OsAccount {
  if (appAccountCache) return appAccountCache;
  const fields = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${APP_USER}:`))
    ?.split(':');
  const uid = Number(fields?.[2]);
  const gid = Number(fields?.[3]);
  if (!fields || !Number.isInteger(uid) || !Number.isInteger(gid) || uid === 0) {
    throw new PermanentError(`there is no ${APP_USER} OS user on this machine to run apps as; run npm run setup, which creates it`);
  }
  appAccountCache = { uid, gid, home: '/nonexistent' };
  return appAccountCache;
}

export interface AppProcessOptions {
  readonly command: string;
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** Each line of output, as it comes. */
  readonly onLine: (line: string) => void;
}

/** Starts `sh -c command` as the app user in a new process group. */
export function startAppProcess(options: AppProcessOptions): ChildProcess {
  const account = appAccount();
  const child = spawn('/bin/sh', ['-c', options.command], {
    cwd: options.cwd,
    env: { ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
    uid: account.uid,
    gid: account.gid,
  });
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream?.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) options.onLine(line);
    });
    stream?.on('end', () => {
      if (partial !== '') options.onLine(partial);
      partial = '';
    });
  }
  return child;
}

/** Runs a command to its end as the app user; answers its exit code (a signal counts as failure). */
export async function runAppCommand(
  options: AppProcessOptions & { readonly timeoutMs: number },
): Promise<{ code: number | null; signal: string | null }> {
  const child = startAppProcess(options);
  const timer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), options.timeoutMs);
  try {
    return await exitOf(child);
  } finally {
    clearTimeout(timer);
  }
}

export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => reject(new Error(`could not start the command: ${error.message}`)));
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (pid === undefined || pid <= 0) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Stops a process group: TERM, then KILL after the grace period. */
export async function stopGroup(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!(await groupAlive(pid))) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  signalGroup(pid, 'SIGKILL');
}

/** Whether any process of the group still runs (a zombie does not count). */
export async function groupAlive(pgid: number | undefined): Promise<boolean> {
  if (pgid === undefined) return false;
  return (await groupMembers(pgid)).length > 0;
}

/** The live processes of a process group, read from /proc. */
export async function groupMembers(pgid: number, uid = appAccount().uid): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    if (stat === undefined) continue;
    // pid (comm) state ppid pgrp …: comm may hold spaces and parentheses, so read after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || Number(fields[2]) !== pgid) continue;
    const status = await readFile(`/proc/${entry}/status`, 'utf8').catch(() => '');
    const realUid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    if (realUid === uid) members.push(Number(entry));
  }
  return members;
}

/** The TCP ports the processes of a group listen on (IPv4 and IPv6), read from /proc. */
export async function listeningPorts(pgid: number): Promise<number[]> {
  const inodes = new Set<string>();
  for (const pid of await groupMembers(pgid)) {
    for (const fd of await readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
      const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode !== undefined) inodes.add(inode);
    }
  }
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // local_address rem_address st … inode: st 0A is LISTEN.
      if (columns[3] !== '0A' || !inodes.has(columns[9] ?? '')) continue;
      const port = Number.parseInt(columns[1]?.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return [...ports].sort((a, b) => a - b);
}
