import { HEARTBEAT_SQL } from '@cloudseed/shared/postgres/pgbackrest';
import { exists } from './files.ts';
import { adminSql, binDirOf, DEFAULT_POSTGRES_ROOT, isRunning, isStandby, startServer, stopServer } from './server.ts';
import type { Server } from './server.ts';
import { ensureHomeReachable } from './local-provider.ts';
import { withLock } from './lock.ts';
import { listNodes } from './nodes.ts';
import { HA_TIMING } from '@cloudseed/shared/postgres/patroni';
import {
  listDcsDirs,
  PATRONI_REST_USER,
  patroniCall,
  patroniDaemon,
  patroniLost,
  patroniRunning,
  readDcs,
  startDcs,
  startPatroni,
  stopDcs,
  stopPatroni,
} from './ha.ts';
import { patroniPasswordFile } from './paths.ts';
import { readSecret } from './secrets.ts';
import type { KnownNode } from './nodes.ts';

// The local cloud's own start and stop: pg_ctl detaches the servers, so they would outlive the
// cloud's process; on SIGINT/SIGTERM the cloud stops them cleanly, and when it starts again it
// brings back the ones node.json says were running (a crash leaves node.json saying so too).

export interface LifecycleOptions {
  readonly postgresRoot?: string;
}

export interface NodeOutcome {
  readonly planId: string;
  readonly name: string;
  readonly port: number;
  readonly ok: boolean;
  readonly error?: string;
}

/**
 * Stops every server under CLOUDSEED_HOME (standbys first, so the primary's walsenders end quietly;
 * a cluster member's through its Patroni), then the clusters' etcd. Keeps node.json's `running`.
 */
export async function stopAll(home: string, options: LifecycleOptions = {}): Promise<NodeOutcome[]> {
  const nodes = await listNodes(home);
  const standby = await Promise.all(nodes.map((node) => isStandby(node.paths)));
  const outcomes: NodeOutcome[] = [];
  for (const group of [nodes.filter((_, index) => standby[index]), nodes.filter((_, index) => !standby[index])]) {
    outcomes.push(
      ...(await Promise.all(
        group.map((node) =>
          attempt(
            node,
            async (server) => {
              await stopPatroni(server.paths);
              await stopServer(server);
            },
            options,
          ),
        ),
      )),
    );
  }
  await Promise.all((await listDcsDirs(home)).map((dir) => stopDcs(dir).catch(() => undefined)));
  return outcomes;
}

/** Starts the servers whose node.json says they should run and that are not running (primaries first). */
export async function startExisting(home: string, options: LifecycleOptions = {}): Promise<NodeOutcome[]> {
  const nodes = (await listNodes(home)).filter((node) => node.record.running);
  if (nodes.length === 0) return [];
  await ensureHomeReachable(home);
  // A cluster's etcd first: its members' Patroni wait for it.
  for (const dir of await listDcsDirs(home)) {
    const record = await readDcs(dir);
    if (record) await startDcs(dir, record).catch(() => undefined);
  }
  const byRole = (role: string) => nodes.filter((node) => node.record.role === role);
  const outcomes: NodeOutcome[] = [];
  for (const group of [byRole('primary'), byRole('replica')]) {
    outcomes.push(
      ...(await Promise.all(
        group.map((node) =>
          attempt(
            node,
            async (server) => {
              // Patroni brings its server back as whichever role the cluster gives it now.
              if (node.record.restPort !== undefined && (await exists(server.paths.patroniConfig)))
                await startPatroni(patroniDaemon(server.paths, node.record.name, server.bin), server.paths);
              else if (!(await isRunning(server.paths))) await startServer(server);
            },
            options,
          ),
        ),
      )),
    );
  }
  return outcomes;
}

async function attempt(node: KnownNode, action: (server: Server) => Promise<void>, options: LifecycleOptions): Promise<NodeOutcome> {
  const { record, paths } = node;
  const server: Server = { name: record.name, paths, port: record.port, bin: binDirOf(options.postgresRoot ?? DEFAULT_POSTGRES_ROOT, record.major) };
  const base = { planId: record.planId, name: record.name, port: record.port };
  try {
    await withLock(paths.root, () => action(server));
    return { ...base, ok: true };
  } catch (error) {
    return { ...base, ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * One heartbeat commit on every running primary that archives: the newest archived one bounds the
 * recovery window, and a restore to any earlier time finds a later commit to stop at. Answers how
 * many primaries took it; one that cannot (starting, stopping, being restored) is skipped.
 */
export async function beatAll(home: string, options: LifecycleOptions = {}): Promise<number> {
  let beats = 0;
  for (const { record, paths } of await listNodes(home)) {
    if (!record.running || !(await exists(paths.pgbackrestConf)) || (await isStandby(paths)) || !(await isRunning(paths))) continue;
    const server: Server = {
      name: record.name,
      paths,
      port: record.port,
      bin: binDirOf(options.postgresRoot ?? DEFAULT_POSTGRES_ROOT, record.major),
    };
    const beat = await adminSql(server, HEARTBEAT_SQL).then(
      () => true,
      () => false,
    );
    if (beat) beats += 1;
  }
  return beats;
}

/**
 * How long a cluster member's Patroni stays down before the local cloud starts it again: longer
 * than the leader lock lives, as a lost machine is away for longer than that before it reboots,
 * so the cluster fails over first and the old leader comes back as a replica (pg_rewind). On EC2
 * systemd restarts a Patroni that merely crashed at once; here every loss counts as a node's.
 */
export const REVIVE_AFTER_MS = (HA_TIMING.ttl + 2 * HA_TIMING.loopWait) * 1000;
const lostSince = new Map<string, number>();

/**
 * The local cloud's supervisor of cluster members, every few seconds. A member whose Patroni was
 * lost (killed or crashed, not stopped) is fenced at once: its server, which no Patroni renews a
 * lock for any more, is stopped, as a watchdog would reset its machine, so that it cannot take
 * writes beside the leader promoted in its place. After REVIVE_AFTER_MS its Patroni is started
 * again and rejoins (pg_rewind). Answers the members it fenced or started.
 */
export async function reviveLost(home: string, options: LifecycleOptions = {}, now = Date.now()): Promise<string[]> {
  const revived: string[] = [];
  for (const { record, paths } of await listNodes(home)) {
    if (record.restPort === undefined || !record.running || !(await patroniLost(paths))) {
      lostSince.delete(paths.root);
      continue;
    }
    const server: Server = {
      name: record.name,
      paths,
      port: record.port,
      bin: binDirOf(options.postgresRoot ?? DEFAULT_POSTGRES_ROOT, record.major),
    };
    if (await isRunning(paths)) {
      await withLock(paths.root, async () => {
        if (await patroniLost(paths)) await stopServer(server);
      });
      revived.push(`${record.planId}/${record.name}: Patroni lost, its server stopped (fenced)`);
    }
    const since = lostSince.get(paths.root) ?? now;
    lostSince.set(paths.root, since);
    if (now - since < REVIVE_AFTER_MS) continue;
    await withLock(paths.root, async () => {
      // Checked again under the node's lock: a restore or a teardown may have held it meanwhile.
      if (!(await patroniLost(paths))) return;
      await startPatroni(patroniDaemon(paths, record.name, binDirOf(options.postgresRoot ?? DEFAULT_POSTGRES_ROOT, record.major)), paths);
      revived.push(`${record.planId}/${record.name}: Patroni started again`);
    });
    lostSince.delete(paths.root);
  }
  return revived;
}

/**
 * Wakes the Patroni of every member whose server died under it. Patroni notices a dead postmaster
 * only in a loop that finds it gone, and the loop that first meets the broken connection gives up
 * until the next one (loop_wait later): woken every second instead, it restarts the server within
 * a few seconds. The wake-up is a settings change that changes nothing (Patroni then runs its loop).
 */
export async function wakeCrashed(home: string): Promise<number> {
  let woken = 0;
  for (const { record, paths } of await listNodes(home)) {
    if (record.restPort === undefined || !record.running || !(await patroniRunning(paths)) || (await isRunning(paths))) continue;
    const password = await readSecret(patroniPasswordFile(home, record.planId, record.componentId), "the password of Patroni's REST API").catch(
      () => undefined,
    );
    if (password === undefined) continue;
    const answer = await patroniCall(record.restPort, 'PATCH', '/config', { username: PATRONI_REST_USER, password }, { ttl: HA_TIMING.ttl }).catch(
      () => undefined,
    );
    if (answer?.status === 200) woken += 1;
  }
  return woken;
}
