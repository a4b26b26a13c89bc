import { execFile } from 'node:child_process';
import { appendFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalProvider } from '../providers/local/index.ts';
import { LocalMetricsCollector, readPoints, RETENTION_SECONDS, ringFile } from '../providers/local/metrics.ts';
import { listNodes } from '../providers/local/nodes.ts';
import type { NodeRef } from '../providers/provider.ts';
import { deployLocally, localTarget } from './support/local-targets.ts';

// The local cloud's metrics collector against a server the LocalProvider runs: what one sample
// holds, that the rates move under pgbench, and the ring it keeps under CLOUDSEED_HOME.

const PLAN = 'metrics';
const BIN = '/usr/lib/postgresql/15/bin';
const execFileAsync = promisify(execFile);

let home: string;
let provider: LocalProvider;
let stopAll: (home: string) => Promise<unknown>;
let node: NodeRef;

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'cs-metrics-'));
  const local = await import('../providers/local/index.ts');
  provider = new local.LocalProvider({ home });
  stopAll = local.stopAll;
  [node] = (await deployLocally(provider, localTarget(PLAN))) as [NodeRef];
}, 180_000);

afterAll(async () => {
  if (home && provider) {
    await provider.destroy(localTarget(PLAN)).catch(() => undefined);
    await stopAll(home);
    await rm(home, { recursive: true, force: true });
  }
});

/** pgbench as postgres over the node's Unix socket. */
async function pgbench(args: readonly string[]): Promise<void> {
  const known = (await listNodes(home)).find((candidate) => candidate.record.name === node.name);
  if (!known) throw new Error(`no node ${node.name} under ${home}`);
  await execFileAsync(
    'runuser',
    ['-u', 'postgres', '--', `${BIN}/pgbench`, '-h', known.paths.socketDir, '-p', String(known.record.port), '-U', 'postgres', ...args],
    { cwd: '/' },
  );
}

describe('the local metrics collector', () => {
  it('samples the server: gauges at once, and CPU, transactions, rows and WAL moving under pgbench', async () => {
    const collector = new LocalMetricsCollector(home);
    expect(await collector.sampleAll()).toBe(1);
    const file = ringFile(home, PLAN, 'db', node.name);
    const [first] = await readPoints(file, 0, Date.now() / 1000 + 60);
    expect(first?.values).toMatchObject({ connections_max: 50, connections_active: 0 });
    expect(first?.values.disk_free_bytes).toBeGreaterThan(0);
    expect(first?.values.disk_used_bytes).toBeGreaterThan(0);
    expect(first?.values.memory_bytes).toBeGreaterThan(1024 * 1024);
    // One sample has no rates.
    expect(first?.values.transactions_per_second).toBeUndefined();
    expect(first?.values.cpu_percent).toBeUndefined();

    const database = localTarget(PLAN).component.db.databaseName;
    await pgbench(['-i', '-s', '1', '-q', database]);
    // Sampled while the load runs: its backends are alive, with their CPU time and I/O.
    const load = pgbench(['-c', '2', '-T', '3', '-n', database]);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    expect(await collector.sampleAll()).toBe(1);
    await load;

    const points = await readPoints(file, 0, Date.now() / 1000 + 60);
    expect(points).toHaveLength(2);
    const second = points[1]!.values;
    expect(second.transactions_per_second).toBeGreaterThan(1);
    expect(second.rows_written_per_second).toBeGreaterThan(1);
    expect(second.wal_bytes_per_second).toBeGreaterThan(1000);
    expect(second.cpu_percent).toBeGreaterThan(0);
    expect(second.disk_iops).toBeGreaterThan(0);
    expect(second.cache_hit_ratio).toBeGreaterThan(0);
  });

  it('keeps one day: a ring whose oldest point is past it loses what it no longer keeps, and a line cut short is skipped', async () => {
    const file = ringFile(home, PLAN, 'db', node.name);
    const now = Date.now() / 1000;
    const old = [now - RETENTION_SECONDS - 7200, now - RETENTION_SECONDS - 100, now - 3600].map((at) =>
      JSON.stringify({ at, values: { cpu_percent: 1 } }),
    );
    await writeFile(file, `${old.join('\n')}\n`);
    await appendFile(file, '{"at":12');

    // A new collector reads the ring's oldest point once; the sample that follows trims it.
    expect(await new LocalMetricsCollector(home).sampleAll()).toBe(1);
    const points = await readPoints(file, 0, now + 60);
    expect(points.map((point) => Math.round(now - point.at))).toEqual([3600, expect.any(Number) as number]);
    expect(points[1]!.at).toBeGreaterThanOrEqual(now - 1);
    expect(await readPoints(join(home, 'metrics', 'nothing.jsonl'), 0, now)).toEqual([]);
  });
});
