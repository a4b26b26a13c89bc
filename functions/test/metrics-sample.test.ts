import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { databaseMetrics, DATABASE_SAMPLE_SQL, parseDatabaseSample } from '@cloudseed/shared/metrics/database-sample';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_BIN, startScratchPostgres } from './support/cloud-fakes.ts';
import type { ScratchPostgres } from './support/cloud-fakes.ts';

// The collector's statement (shared/src/metrics/database-sample.ts) against a real PostgreSQL 15
// server: what it reads of an idle server, and that the rates move when pgbench puts load on it.

const execFileAsync = promisify(execFile);

let pg: ScratchPostgres;

beforeAll(async () => {
  pg = await startScratchPostgres();
});

afterAll(async () => {
  await pg?.stop();
});

const sample = async () => parseDatabaseSample(await pg.psql('postgres', DATABASE_SAMPLE_SQL));

/** pgbench as postgres against the scratch server's socket. */
const pgbench = (args: readonly string[]) =>
  execFileAsync('runuser', ['-u', 'postgres', '--', `${PG_BIN}/pgbench`, '-h', pg.dir, '-p', String(pg.port), ...args], { cwd: '/' });

describe('the collector’s statement on a real server', () => {
  it('reads an idle primary: its limits, no replicas, no archiving, nothing open', async () => {
    const idle = await sample();
    expect(idle).toMatchObject({ inRecovery: false, connectionsActive: 0, connectionsMax: 100, oldestTransactionSeconds: 0 });
    expect(idle.lagBytes).toBeUndefined();
    expect(idle.archiveAgeSeconds).toBeUndefined();
    expect(idle.walBytes).toBeGreaterThan(0);
    expect(Math.abs(idle.at - Date.now() / 1000)).toBeLessThan(60);
  });

  it('moves with load: transactions, rows, WAL and the cache while pgbench runs, and an open transaction’s age', async () => {
    await pgbench(['-i', '-s', '2', '-q', 'app']);
    const before = await sample();
    // A transaction left open beside the load: the oldest transaction's age counts from its start.
    const open = pg.psql('app', 'BEGIN; SELECT txid_current(); SELECT pg_sleep(4); COMMIT;');
    await pgbench(['-c', '2', '-T', '3', '-n', 'app']);
    const after = await sample();
    await open;

    const metrics = databaseMetrics(before, after);
    expect(metrics.transactions_per_second).toBeGreaterThan(10);
    expect(metrics.rows_written_per_second).toBeGreaterThan(10);
    expect(metrics.rows_read_per_second).toBeGreaterThan(0);
    expect(metrics.wal_bytes_per_second).toBeGreaterThan(1000);
    expect(metrics.cache_hit_ratio).toBeGreaterThan(0.5);
    expect(metrics.cache_hit_ratio).toBeLessThanOrEqual(1);
    expect(metrics.deadlocks_per_second).toBe(0);
    expect(metrics.oldest_transaction_seconds).toBeGreaterThan(2);
    // The open transaction sleeps in a statement: an active session (the sampler's own is not counted).
    expect(metrics.connections_active).toBe(1);
  });
});
