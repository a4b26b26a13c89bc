import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { DCS_NAMESPACE, ETCD_MEMBERS, etcdArguments, forgetClusterRequest, parseClusterState } from '@cloudseed/shared/postgres/patroni';
import type { ClusterState, EtcdMember } from '@cloudseed/shared/postgres/patroni';
import { PermanentError, TransientError } from '../errors.ts';
import { daemonPid, startDaemon, stopDaemon } from './daemon.ts';
import type { Daemon } from './daemon.ts';
import { postgresAccount, rootAccount } from './exec.ts';
import { ensureDir, exists, readTextIfExists, writeFileAtomic } from './files.ts';
import { emptyPostgresDir } from './server.ts';
import type { NodePaths } from './paths.ts';
import { instancesRoot } from './paths.ts';

// A cluster's high availability on the local cloud: three etcd members as processes on loopback
// ports (the cluster's leader lock and membership), and one Patroni per node that runs the node's
// PostgreSQL, promotes a replica when the leader is lost and rejoins an old leader with pg_rewind.
//
// There is no fencing here: a watchdog needs /dev/watchdog, which a development machine does not
// give an unprivileged daemon. An old leader that lost its lock demotes itself when its Patroni
// next reaches etcd (each loop_wait); a leader whose Patroni alone died keeps serving writes until
// then. On EC2 the softdog watchdog reboots such a node instead (watchdog mode `required`).

const ETCD_PROGRAM = '/usr/bin/etcd';
const PATRONI_PROGRAM = '/usr/bin/patroni';
const REQUEST_TIMEOUT_MS = 3_000;
/** Who calls Patroni's unsafe REST endpoints; the password is the component's secret. */
export const PATRONI_REST_USER = 'cloudseed';
/** A restart waits for the server to start again; a switchover for the new leader. */
const ACTION_TIMEOUT_MS = 120_000;

/** A cluster's etcd: its scope in Patroni and its members' loopback ports (dcs.json). */
export interface DcsRecord {
  readonly scope: string;
  readonly members: readonly EtcdMember[];
}

export const scopeOf = (planId: string, componentId: string): string => `${planId}-${componentId}`;

const recordFile = (dir: string) => join(dir, 'dcs.json');
const memberDataDir = (dir: string, name: string) => join(dir, name);

function etcdDaemon(dir: string, record: DcsRecord, member: EtcdMember): Daemon {
  return {
    name: `etcd member ${member.name} of ${record.scope}`,
    program: ETCD_PROGRAM,
    args: etcdArguments(record.scope, member, record.members, memberDataDir(dir, member.name)),
    pidFile: join(dir, `${member.name}.pid`),
    logFile: join(dir, `${member.name}.log`),
    cwd: memberDataDir(dir, member.name),
  };
}

export async function readDcs(dir: string): Promise<DcsRecord | undefined> {
  const text = await readTextIfExists(recordFile(dir));
  return text === undefined ? undefined : (JSON.parse(text) as DcsRecord);
}

/** The cluster's etcd, made on first use (ports from `reserve`) and started where a member is down; answers once a majority serves. */
export async function ensureDcs(dir: string, scope: string, reserve: (count: number) => Promise<number[]>): Promise<DcsRecord> {
  await ensureDir(dir, 0o711, rootAccount());
  let record = await readDcs(dir);
  if (!record) {
    const ports = await reserve(ETCD_MEMBERS * 2);
    record = {
      scope,
      members: Array.from({ length: ETCD_MEMBERS }, (_, index) => ({
        name: `member-${index}`,
        client: { host: '127.0.0.1', port: ports[index * 2] ?? 0 },
        peer: { host: '127.0.0.1', port: ports[index * 2 + 1] ?? 0 },
      })),
    };
    await writeFileAtomic(recordFile(dir), `${JSON.stringify(record, null, 2)}\n`, 0o600);
  }
  await startDcs(dir, record);
  return record;
}

export async function startDcs(dir: string, record: DcsRecord): Promise<void> {
  for (const member of record.members) {
    await ensureDir(memberDataDir(dir, member.name), 0o700, postgresAccount());
    await startDaemon(etcdDaemon(dir, record, member));
  }
  await waitUntil(
    async () => (await Promise.all(record.members.map((member) => etcdHealthy(member)))).filter(Boolean).length > ETCD_MEMBERS / 2,
    30_000,
    () => `the etcd of ${record.scope} did not reach a quorum within 30 s (see ${dir}/member-*.log)`,
  );
}

export async function stopDcs(dir: string): Promise<void> {
  const record = await readDcs(dir);
  if (!record) return;
  await Promise.all(record.members.map((member) => stopDaemon(etcdDaemon(dir, record, member), 10_000)));
}

/** Stops the etcd and deletes its data (postgres' directories emptied as postgres). */
export async function removeDcs(dir: string): Promise<void> {
  const record = await readDcs(dir);
  await stopDcs(dir);
  for (const member of record?.members ?? []) await emptyPostgresDir(memberDataDir(dir, member.name));
}

/** The `<component>-dcs` directories under CLOUDSEED_HOME whose etcd should run (the local cloud's start and stop). */
export async function listDcsDirs(home: string): Promise<string[]> {
  const dirs: string[] = [];
  for (const plan of await readdir(instancesRoot(home)).catch(() => [])) {
    for (const entry of await readdir(join(instancesRoot(home), plan)).catch(() => [])) {
      if (entry.endsWith('-dcs')) dirs.push(join(instancesRoot(home), plan, entry));
    }
  }
  return dirs;
}

/** Forgets the cluster in etcd (leader lock, members, history): Patroni then adopts the next data directory it is given as new. */
export async function forgetCluster(record: DcsRecord): Promise<void> {
  const body = JSON.stringify(forgetClusterRequest(record.scope));
  for (const member of record.members) {
    const answer = await request(`http://127.0.0.1:${member.client.port}/v3/kv/deleterange`, { method: 'POST', body }).catch(() => undefined);
    if (answer?.status === 200) return;
  }
  throw new TransientError(`no etcd member of ${record.scope} answered`);
}

async function etcdHealthy(member: EtcdMember): Promise<boolean> {
  const answer = await request(`http://127.0.0.1:${member.client.port}/health`).catch(() => undefined);
  return answer?.status === 200 && (JSON.parse(answer.text) as { health?: string }).health === 'true';
}

// --- Patroni ------------------------------------------------------------------------------------------

export function patroniDaemon(paths: NodePaths, name: string, binDir: string): Daemon {
  return {
    name: `Patroni of ${name}`,
    program: PATRONI_PROGRAM,
    args: [paths.patroniConfig],
    pidFile: paths.patroniPid,
    logFile: paths.patroniLog,
    cwd: paths.configDir,
    binDir,
  };
}

export const patroniRunning = async (paths: NodePaths): Promise<boolean> =>
  (await daemonPid({ pidFile: paths.patroniPid, program: PATRONI_PROGRAM })) !== undefined;

/**
 * Stops Patroni, which stops its PostgreSQL first (fast shutdown) and gives up the leader lock. The
 * stop is on purpose: the node is held (patroni.hold) so that the supervisor does not bring it back
 * in the middle of a restore or a teardown; starting it again lifts the hold.
 */
export async function stopPatroni(paths: NodePaths): Promise<void> {
  await writeFileAtomic(holdFile(paths), 'stopped on purpose\n', 0o600);
  await stopDaemon({ pidFile: paths.patroniPid, program: PATRONI_PROGRAM }, 90_000);
}

export async function startPatroni(daemon: Daemon, paths: NodePaths): Promise<void> {
  await startDaemon(daemon);
  await rm(holdFile(paths), { force: true });
}

/** True when Patroni is down without having been stopped on purpose: killed, or crashed. */
export async function patroniLost(paths: NodePaths): Promise<boolean> {
  return !(await patroniRunning(paths)) && !(await exists(holdFile(paths))) && (await exists(paths.patroniConfig));
}

const holdFile = (paths: NodePaths) => join(paths.root, 'patroni.hold');

/** Writes the cluster's settings straight into etcd before its first Patroni starts, so that it adopts the first server with them. */
export async function seedClusterConfig(record: DcsRecord, config: unknown): Promise<void> {
  const body = JSON.stringify({ key: base64(`${DCS_NAMESPACE}${record.scope}/config`), value: base64(JSON.stringify(config)) });
  for (const member of record.members) {
    const answer = await request(`http://127.0.0.1:${member.client.port}/v3/kv/put`, { method: 'POST', body }).catch(() => undefined);
    if (answer?.status === 200) return;
  }
  throw new TransientError(`no etcd member of ${record.scope} answered`);
}

/** The cluster as the first Patroni that answers sees it; undefined when none does. */
export async function clusterState(restPorts: readonly number[]): Promise<ClusterState | undefined> {
  for (const port of restPorts) {
    const answer = await request(`http://127.0.0.1:${port}/cluster`).catch(() => undefined);
    if (answer?.status === 200) return parseClusterState(JSON.parse(answer.text));
  }
  return undefined;
}

/**
 * Puts the plan's cluster-wide settings into etcd through the leader's Patroni. A leader that has
 * just adopted a data directory writes its configuration key in its next loop: until then (and
 * when another change raced this one) Patroni answers 503 or 409, and the call is made again.
 */
export async function patchClusterConfig(
  restPort: number,
  auth: { readonly username: string; readonly password: string },
  patch: unknown,
): Promise<void> {
  let last = '';
  await waitUntil(
    async () => {
      const answer = await patroniCall(restPort, 'PATCH', '/config', auth, patch).catch((error: unknown) => ({ status: 0, text: String(error) }));
      last = `${answer.status} ${answer.text.slice(0, 200)}`;
      if (answer.status === 200) return true;
      if (answer.status === 503 || answer.status === 409 || answer.status === 0) return false;
      throw new PermanentError(`Patroni refused the cluster settings: ${last}`);
    },
    60_000,
    () => `Patroni did not take the cluster settings within 60 s (last answer ${last})`,
  );
}

/** Waits until the member's Patroni says its server is the writable leader (GET /primary answers 200 only then). */
export async function waitForPrimary(restPort: number, name: string, timeoutMs: number): Promise<void> {
  await waitUntil(
    async () => (await request(`http://127.0.0.1:${restPort}/primary`).catch(() => undefined))?.status === 200,
    timeoutMs,
    () => `${name} did not become the writable leader within ${Math.round(timeoutMs / 1000)} s`,
  );
}

/**
 * Waits until the leader has written every member into etcd's failsafe key. Until then a member
 * missing from it may not take part in a leader race: a leader lost in that moment would have no
 * successor.
 */
export async function waitForFailsafe(restPort: number, members: readonly string[], timeoutMs: number): Promise<void> {
  let known: string[] = [];
  await waitUntil(
    async () => {
      const answer = await request(`http://127.0.0.1:${restPort}/failsafe`).catch(() => undefined);
      known = answer?.status === 200 ? Object.keys(JSON.parse(answer.text) as Record<string, unknown>) : [];
      return members.every((name) => known.includes(name));
    },
    timeoutMs,
    () =>
      `the leader did not name every member in the failsafe key within ${Math.round(timeoutMs / 1000)} s (it names ${known.join(', ') || 'none'})`,
  );
}

/** Waits until the cluster is as `done` wants it; the error says what the cluster looked like last. */
export async function waitForCluster(
  restPorts: readonly number[],
  done: (state: ClusterState) => boolean,
  timeoutMs: number,
  what: string,
): Promise<ClusterState> {
  let last: ClusterState | undefined;
  await waitUntil(
    async () => {
      last = await clusterState(restPorts);
      return last !== undefined && done(last);
    },
    timeoutMs,
    () =>
      `${what} did not happen within ${Math.round(timeoutMs / 1000)} s; Patroni says ${
        last
          ? last.members.map((member) => `${member.name} ${member.role} ${member.state}`).join(', ') || 'no members'
          : 'nothing (no member answers)'
      }`,
  );
  if (!last) throw new TransientError(`${what}: no Patroni answers`);
  return last;
}

/** One of Patroni's unsafe endpoints (restart, reload, switchover, config), with its REST credentials; a restart or switchover answers when done. */
export async function patroniCall(
  restPort: number,
  method: 'POST' | 'PATCH',
  path: string,
  auth: { readonly username: string; readonly password: string },
  body?: unknown,
): Promise<{ readonly status: number; readonly text: string }> {
  return request(
    `http://127.0.0.1:${restPort}${path}`,
    {
      method,
      headers: { authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
    ACTION_TIMEOUT_MS,
  );
}

async function request(
  url: string,
  init: RequestInit = {},
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<{ readonly status: number; readonly text: string }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
  return { status: response.status, text: await response.text() };
}

async function waitUntil(condition: () => Promise<boolean>, timeoutMs: number, failure: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new PermanentError(failure());
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const base64 = (text: string): string => Buffer.from(text).toString('base64');
