import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { settled } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// A plan's own PostgreSQL settings (db.parameters) on a real local server: they are in force once
// deployed; changed, a re-deploy applies a reload-only setting without a restart and a restart-only
// one with one; a setting no plan may change is refused with the field and stores nothing.

vi.setConfig({ testTimeout: 120_000, hookTimeout: 60_000 });

const cloud = useLocalCloud();

describe('plan parameters', () => {
  it('are in force once deployed, and a re-deploy applies changes, restarting only when it must', async () => {
    const body = (parameters: Record<string, unknown>) =>
      planWith({ name: 'tuned', hardware: { cpus: 2, memoryGiB: 1 }, db: { version: '15', parameters } });
    const planId = await cloud.api.createPlan(body({ work_mem: '8MB', statement_timeout: '30s' }));
    await cloud.api.deploy(planId);
    expect((await cloud.api.waitForDeployment(planId, settled)).status).toBe('running');
    const creds = await cloud.api.credentials(planId);
    const show = (sql: string) =>
      spawnSync(
        'psql',
        ['-X', '-tA', `host=${creds.host} port=${creds.port} dbname=${creds.database} user=${creds.username} sslmode=require`, '-c', sql],
        { encoding: 'utf8', env: { ...process.env, PGPASSWORD: creds.password } },
      ).stdout.trim();
    expect(show('SHOW work_mem')).toBe('8MB');
    expect(show('SHOW statement_timeout')).toBe('30s');
    const started = show('SELECT pg_postmaster_start_time()');

    // Reload-only: applied in place, the server keeps running.
    expect((await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: body({ work_mem: '16MB', statement_timeout: '30s' }) })).status).toBe(200);
    await cloud.api.deploy(planId);
    expect((await cloud.api.waitForDeployment(planId, settled)).status).toBe('running');
    expect(show('SHOW work_mem')).toBe('16MB');
    expect(show('SELECT pg_postmaster_start_time()')).toBe(started);

    // Restart-only: the re-deploy restarts the server to apply it.
    expect((await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: body({ work_mem: '16MB', shared_buffers: '192MB' }) })).status).toBe(200);
    await cloud.api.deploy(planId);
    expect((await cloud.api.waitForDeployment(planId, settled)).status).toBe('running');
    expect(show('SHOW shared_buffers')).toBe('192MB');
    expect(show('SHOW statement_timeout')).toBe('0');
    expect(show('SELECT pg_postmaster_start_time()')).not.toBe(started);

    // No plan may turn TLS off: refused at the field, and the stored plan is unchanged.
    const refused = await cloud.api.call('PUT', `/v1/plan/${planId}`, { body: body({ ssl: 'off' }) });
    expect(refused.status).toBe(400);
    expect((refused.json as { errors: { path: string }[] }).errors.map((error) => error.path)).toEqual(['/components/0/db/parameters/ssl']);
    const stored = (await cloud.api.call('GET', `/v1/plan/${planId}`)).json as { spec: { components: { db: { parameters: unknown } }[] } };
    expect(stored.spec.components[0]!.db.parameters).toEqual({ work_mem: '16MB', shared_buffers: '192MB' });
  });
});
