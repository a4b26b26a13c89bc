import { HEARTBEAT_SQL } from '@cloudseed/shared/postgres/pgbackrest';
import { exists } from './files.ts';
import { adminSql, binDirOf, DEFAULT_POSTGRES_ROOT, isRunning, isStandby, startServer, stopServer } from './server.ts';
import type { Server } from './server.ts';
import { ensureHomeReachable } from './local-provider.ts';
import { withLock } from './lock.ts';
import { listNodes } from './nodes.ts';
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

/** Stops every server under CLOUDSEED_HOME (replicas first, so the primary's walsenders end quietly). Keeps node.json's `running`. */
export async function stopAll(home: string, options: LifecycleOptions = {}): Promise<NodeOutcome[]> {
  const nodes = await listNodes(home);
  const byRole = (role: string) => nodes.filter((node) => node.record.role === role);
  const outcomes: NodeOutcome[] = [];
  for (const group of [byRole('replica'), byRole('primary')]) {
    outcomes.push(...(await Promise.all(group.map((node) => attempt(node, (server) => stopServer(server), options)))));
  }
  return outcomes;
}

/** Starts the servers whose node.json says they should run and that are not running (primaries first). */
export async function startExisting(home: string, options: LifecycleOptions = {}): Promise<NodeOutcome[]> {
  const nodes = (await listNodes(home)).filter((node) => node.record.running);
  if (nodes.length === 0) return [];
  await ensureHomeReachable(home);
  const byRole = (role: string) => nodes.filter((node) => node.record.role === role);
  const outcomes: NodeOutcome[] = [];
  for (const group of [byRole('primary'), byRole('replica')]) {
    outcomes.push(
      ...(await Promise.all(
        group.map((node) =>
          attempt(
            node,
            async (server) => {
              if (!(await isRunning(server.paths))) await startServer(server);
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
