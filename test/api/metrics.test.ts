import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseTopQueries, resetQueriesSql, STATS_SCHEMA, topQueriesSql } from '@cloudseed/shared/metrics/queries';
import type { BackupHost } from '@cloudseed/functions/providers/node-backups/host';
import { topQueriesScript } from '@cloudseed/functions/providers/node-backups/top-queries';
import { describe, expect, it, vi } from 'vitest';
import { settled } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// GET /v1/plan/{id}/metrics against the real local cloud: a deployed server's collector samples it
// (every second here) and the API answers its series; bad parameters are a 400 naming each one,
// another customer's plan is not found, and a plan not deployed has nothing to show.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud({ env: { CLOUDSEED_METRICS_INTERVAL_MS: '1000' } });

interface Series {
  name: string;
  unit: string;
  points: [number, number | null][];
}
interface Metrics {
  from: number;
  to: number;
  step: number;
  components: { id: string; nodes: { name: string; role: string; series: Series[] }[] }[];
}
interface Problem {
  status: number;
  errors?: { path: string; message: string }[];
}

const metrics = (planId: string, query: string, token?: string) =>
  cloud.api.call('GET', `/v1/plan/${planId}/metrics?${query}`, token ? { token } : {});

describe('GET /v1/plan/{id}/metrics', () => {
  it('answers each node’s series, in steps, once the collector has sampled the server', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'measured', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', maxConnections: 40 } }),
    );
    // Not deployed: nothing to show, and no error.
    const before = await metrics(planId, 'names=connections_max');
    expect(before.status).toBe(200);
    expect((before.json as Metrics).components).toEqual([]);

    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    let answer: Metrics | undefined;
    await vi.waitFor(
      async () => {
        const response = await metrics(planId, 'names=connections_max,transactions_per_second,disk_free_bytes&step=10');
        expect(response.status).toBe(200);
        answer = response.json as Metrics;
        const series = answer.components[0]?.nodes[0]?.series ?? [];
        // Rates need two samples: wait until one step holds a transaction rate.
        expect(series.find((entry) => entry.name === 'transactions_per_second')?.points.some(([, value]) => value !== null)).toBe(true);
      },
      { timeout: 30_000, interval: 1000 },
    );
    const node = answer!.components[0]!.nodes[0]!;
    expect(answer!.step).toBe(10);
    expect(answer!.from % 10).toBe(0);
    expect(node.role).toBe('primary');
    expect(node.series.map((entry) => [entry.name, entry.unit])).toEqual([
      ['connections_max', 'count'],
      ['transactions_per_second', 'per_second'],
      ['disk_free_bytes', 'bytes'],
    ]);
    const connections = node.series[0]!.points;
    // An hour in steps of 10 s, from a step's start: 360 steps, and the one now is in.
    expect(connections.length).toBeGreaterThanOrEqual(360);
    expect(connections.length).toBeLessThanOrEqual(361);
    expect(connections.every(([at], index) => at === answer!.from + index * 10)).toBe(true);
    expect(connections.filter(([, value]) => value !== null).every(([, value]) => value === 40)).toBe(true);
    expect(connections.slice(0, 100).every(([, value]) => value === null)).toBe(true);

    // Another customer does not see the plan.
    expect((await metrics(planId, 'names=connections_max', cloud.other.user.accessToken)).status).toBe(404);
  });

  it('lists the application’s top statements, normalised, in the order asked, and starts again when reset', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'queried', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', maxConnections: 40 } }),
    );
    // Not deployed yet: there is nothing to count.
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/queries`)).status).toBe(409);
    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const creds = await cloud.api.credentials(planId);
    const run = (sql: string) => {
      const result = spawnSync(
        'psql',
        [
          '-X',
          '-tA',
          '-v',
          'ON_ERROR_STOP=1',
          `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`,
          '-c',
          sql,
        ],
        {
          encoding: 'utf8',
          env: { ...process.env, PGPASSWORD: creds.password },
        },
      );
      expect(result.stderr).toBe('');
    };
    run('CREATE TABLE sales (id int, amount int); INSERT INTO sales SELECT g, g FROM generate_series(1, 1000) g;');
    for (let round = 0; round < 5; round += 1) run(`SELECT sum(amount) FROM sales WHERE id > ${round * 10};`);
    run('ALTER ROLE ' + creds.username + " SET search_path = public; SELECT 'secret-' || 'looking literal';");

    const listed = await cloud.api.call('GET', `/v1/plan/${planId}/queries?order=calls&limit=3`);
    expect(listed.status, JSON.stringify(listed.json)).toBe(200);
    const { component, queries } = listed.json as { component: string; queries: { query: string; calls: number; totalTimeMs: number }[] };
    expect(component).toBe('db');
    expect(queries.length).toBeLessThanOrEqual(3);
    expect(queries[0]).toMatchObject({ query: 'SELECT sum(amount) FROM sales WHERE id > $1', calls: 5 });
    expect(queries.every((entry, index) => index === 0 || entry.calls <= queries[index - 1]!.calls)).toBe(true);
    expect(JSON.stringify(queries)).not.toContain('looking literal');
    // Reading the list adds nothing to it: CloudSeed's own statements are not counted.
    const again = (await cloud.api.call('GET', `/v1/plan/${planId}/queries?limit=100`)).json as { queries: { query: string }[] };
    expect(again.queries.filter((entry) => /json_agg|SET ROLE|pg_stat_statements/.test(entry.query))).toEqual([]);

    expect((await cloud.api.call('GET', `/v1/plan/${planId}/queries?order=slowest`)).status).toBe(400);
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/queries`, { token: cloud.other.user.accessToken })).status).toBe(404);
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/queries/reset`, { token: cloud.other.user.accessToken })).status).toBe(404);

    expect((await cloud.api.call('POST', `/v1/plan/${planId}/queries/reset`)).status).toBe(200);
    const after = (await cloud.api.call('GET', `/v1/plan/${planId}/queries`)).json as { queries: { query: string }[] };
    expect(after.queries.map((entry) => entry.query)).not.toContain('SELECT sum(amount) FROM sales WHERE id > $1');
  });

  it('lists and resets the same statements through the script cloud nodes run', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'scripted', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15' } }));
    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const creds = await cloud.api.credentials(planId);
    for (let round = 0; round < 3; round += 1)
      spawnSync(
        'psql',
        ['-X', '-c', `SELECT ${round} + 1`, `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`],
        {
          env: { ...process.env, PGPASSWORD: creds.password },
        },
      );
    // The script as AWS sends it, run here as root against the local node's socket.
    const host = { cloud: 'aws', component: { id: 'db', os: { name: 'debian', version: '12' }, postgres: { major: 15, port: creds.port } } };
    const of = { database: creds.database, role: creds.username };
    const run = (sql: string) => {
      const result = spawnSync('bash', ['-c', topQueriesScript(host as unknown as BackupHost, of, sql)], {
        encoding: 'utf8',
        env: { ...process.env, PGHOST: join(cloud.home, 'instances', planId, 'db-0', 'socket') },
      });
      expect(result.stderr).toBe('');
      const { result: packed } = JSON.parse(result.stdout.trim().slice('CLOUDSEED_RESULT '.length)) as { result: string };
      return gunzipSync(Buffer.from(packed, 'base64')).toString('utf8').trim();
    };
    const listed = parseTopQueries(run(topQueriesSql(STATS_SCHEMA, of.database, of.role, { order: 'calls', limit: 5 })));
    expect(listed.find((entry) => entry.query === 'SELECT $1 + $2')).toMatchObject({ calls: 3 });
    run(resetQueriesSql(STATS_SCHEMA, of.database, of.role));
    const after = parseTopQueries(run(topQueriesSql(STATS_SCHEMA, of.database, of.role, { order: 'calls', limit: 5 })));
    expect(after.map((entry) => entry.query)).not.toContain('SELECT $1 + $2');
  });

  it('uses no schema the application made for its extension, and says so', async () => {
    const planId = await cloud.api.createPlan(
      planWith({ name: 'schemer', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', maxConnections: 40 } }),
    );
    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const creds = await cloud.api.credentials(planId);
    // The tenant makes CloudSeed's schema first, with a function waiting for the superuser.
    const made = spawnSync(
      'psql',
      [
        '-X',
        '-v',
        'ON_ERROR_STOP=1',
        `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`,
        '-c',
        'CREATE SCHEMA cloudseed_stats; CREATE FUNCTION cloudseed_stats.pg_stat_statements_reset(oid, oid, bigint) RETURNS void LANGUAGE sql AS $$ ALTER ROLE CURRENT_USER SUPERUSER $$;',
      ],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
    );
    expect(made.stderr).toBe('');

    const listed = await cloud.api.call('GET', `/v1/plan/${planId}/queries`);
    expect(listed.status).toBe(409);
    expect((listed.json as { detail: string }).detail).toMatch(/has a schema cloudseed_stats of its own/);
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/queries/reset`)).status).toBe(409);
    const role = spawnSync(
      'psql',
      [
        '-X',
        '-tA',
        `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`,
        '-c',
        'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
      ],
      { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
    );
    expect(role.stdout.trim()).toBe('f');
  });

  it('answers 400 naming each parameter that is wrong, and reads nothing', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'asked-badly' }));
    const response = await metrics(planId, 'names=cpu_percent,bogus&step=7&from=yesterday');
    expect(response.status).toBe(400);
    expect((response.json as Problem).errors?.map((error) => error.path)).toEqual(['?names', '?step', '?from']);
    expect((await metrics(planId, '')).status).toBe(400);
    expect((await metrics(planId, `names=cpu_percent&from=${Math.floor(Date.now() / 1000) - 3 * 86400}`)).status).toBe(400);
  });
});
