import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parsePostgresLog } from '@cloudseed/shared/metrics/logs';
import type { BackupHost } from '@cloudseed/functions/providers/node-backups/host';
import { serverLogScript } from '@cloudseed/functions/providers/node-backups/server-log';
import { describe, expect, it, vi } from 'vitest';
import { settled } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// GET /v1/plan/{id}/components/{db}/logs against a real local server: its PostgreSQL log as
// entries, slow statements timed, searched and cut as asked, and no password the tenant's
// statements carried in any answer; bad parameters are a 400 naming each, another customer's plan
// is not found.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();

interface Entry {
  time: string;
  level: string;
  user?: string;
  database?: string;
  text: string;
  durationMs?: number;
}
interface ServerLog {
  component: string;
  node?: string;
  nodes: string[];
  entries: Entry[];
}
interface Problem {
  errors?: { path: string; message: string }[];
}

const logs = (planId: string, query = '', token?: string) =>
  cloud.api.call('GET', `/v1/plan/${planId}/components/db/logs${query}`, token ? { token } : {});

describe('a database’s server log', () => {
  it('lists the node’s entries with slow statements timed and every password masked', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'logged', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15' } }));
    // Drawn, not deployed: no log yet, and nothing is wrong.
    const before = await logs(planId);
    expect(before.status).toBe(200);
    expect(before.json).toEqual({ component: 'db', nodes: [], entries: [] });

    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const creds = await cloud.api.credentials(planId);
    const psql = spawnSync(
      'psql',
      ['-X', '-q', `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`],
      {
        encoding: 'utf8',
        env: { ...process.env, PGPASSWORD: creds.password },
        input: [
          'SELECT pg_sleep(1.1);',
          "ALTER ROLE nobody PASSWORD 'hunter2-in-a-statement';",
          "CREATE ROLE reporting LOGIN PASSWORD 'hunter2-in-a-second' BOGUS;",
          "ALTER ROLE reporting PASSWORD 'hunter2-never-closed",
        ].join('\n'),
      },
    );
    expect(psql.stderr).toContain('role "nobody" does not exist');

    let answer: ServerLog | undefined;
    await vi.waitFor(
      async () => {
        const response = await logs(planId, '?tail=2000');
        expect(response.status).toBe(200);
        answer = response.json as ServerLog;
        expect(answer.entries.some((entry) => entry.text.includes('PASSWORD') && entry.text.includes('never'))).toBe(false);
        expect(answer.entries.filter((entry) => entry.level === 'ERROR' && entry.user === creds.username)).toHaveLength(3);
      },
      { timeout: 20_000, interval: 500 },
    );
    expect(answer!.node).toBe('db-0');
    expect(answer!.nodes).toEqual(['db-0']);
    expect(JSON.stringify(answer)).not.toContain('hunter2');
    const refused = answer!.entries.find((entry) => entry.text.includes('"nobody"'))!;
    expect(refused.text).toContain("STATEMENT:  ALTER ROLE nobody PASSWORD '********'");
    expect(refused.database).toBe(creds.database);
    const slow = answer!.entries.find((entry) => entry.durationMs !== undefined)!;
    expect(slow.text).toContain('SELECT pg_sleep(1.1)');
    expect(slow.durationMs).toBeGreaterThanOrEqual(1000);
    // Oldest first, stamped in UTC.
    expect(answer!.entries.map((entry) => entry.time)).toEqual(answer!.entries.map((entry) => entry.time).sort());
    expect(answer!.entries.every((entry) => entry.time.endsWith('Z'))).toBe(true);

    // A search finds the slow statement alone, a password not at all; the tail cuts from the newest.
    const searched = (await logs(planId, '?q=PG_SLEEP')).json as ServerLog;
    expect(searched.entries.map((entry) => entry.durationMs !== undefined)).toEqual([true]);
    expect(((await logs(planId, '?q=hunter2')).json as ServerLog).entries).toEqual([]);
    const last = ((await logs(planId, '?tail=1')).json as ServerLog).entries;
    expect(last).toEqual([answer!.entries.at(-1)]);
  });

  it('is what the cloud nodes’ log script reads too, unpacked and parsed the same', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'scripted', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15' } }));
    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);
    const creds = await cloud.api.credentials(planId);
    spawnSync(
      'psql',
      ['-X', '-c', 'SELECT pg_sleep(1.05)', `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`],
      {
        env: { ...process.env, PGPASSWORD: creds.password },
      },
    );
    // The script as AWS sends it, run here as root against the local node (its socket, its port).
    const host = { cloud: 'aws', component: { id: 'db', os: { name: 'debian', version: '12' }, postgres: { major: 15, port: creds.port } } };
    const script = serverLogScript(host as unknown as BackupHost);
    let result: { log: string; bytes: number } | undefined;
    await vi.waitFor(
      () => {
        const run = spawnSync('bash', ['-c', script], {
          encoding: 'utf8',
          env: { ...process.env, PGHOST: join(cloud.home, 'instances', planId, 'db-0', 'socket') },
        });
        expect(run.stderr).toBe('');
        const line = run.stdout.trim();
        expect(line.startsWith('CLOUDSEED_RESULT ')).toBe(true);
        result = JSON.parse(line.slice('CLOUDSEED_RESULT '.length)) as { log: string; bytes: number };
        expect(gunzipSync(Buffer.from(result.log, 'base64')).toString('utf8')).toContain('pg_sleep(1.05)');
      },
      { timeout: 20_000, interval: 500 },
    );
    const entries = parsePostgresLog(gunzipSync(Buffer.from(result!.log, 'base64')).toString('utf8'));
    expect(entries.find((entry) => entry.text.includes('pg_sleep(1.05)'))?.durationMs).toBeGreaterThanOrEqual(1000);
    expect(result!.bytes).toBe(196_608);
  });

  it('answers 400 naming each parameter it cannot take, and 404 for another customer’s plan', async () => {
    const planId = await cloud.api.createPlan(planWith({ name: 'asked', hardware: { cpus: 2, memoryGiB: 1 } }));
    await cloud.api.deploy(planId);
    await cloud.api.waitForDeployment(planId, settled);

    const unknown = await logs(planId, '?node=db-9');
    expect(unknown.status).toBe(400);
    expect((unknown.json as Problem).errors).toEqual([{ path: '?node', message: 'must name a node of db (db-0)' }]);
    const bad = await logs(planId, `?tail=0&node=../x&q=${'x'.repeat(201)}`);
    expect(bad.status).toBe(400);
    expect((bad.json as Problem).errors?.map((error) => error.path)).toEqual(['?node', '?tail', '?q']);
    expect((await logs(planId, '', cloud.other.user.accessToken)).status).toBe(404);
    expect((await cloud.api.call('GET', `/v1/plan/${planId}/components/nope/logs`)).status).toBe(404);
  });
});
