import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import type { Credentials } from '../support/api.ts';
import { planWith } from '../support/plans.ts';
import { useLocalCloud } from '../support/use-local-cloud.ts';

// The plan's databases and roles beyond the application's, on a real server: an extra database
// the application owns, a reading and a writing role that log in only once their owner asks for a
// password (over TLS, verified against the plan's CA), do what their access says and no more, and
// lose their login when the plan no longer names them.

vi.setConfig({ testTimeout: 180_000, hookTimeout: 60_000 });

interface RolePassword {
  component: string;
  role: string;
  access: string;
  password: string;
  databases: string[];
  uri: string;
}

function psql(uri: string, sql: string, cwd: string): string {
  const result = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', uri, '-c', sql], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, PGCONNECT_TIMEOUT: '5' },
  });
  return result.status === 0 ? result.stdout.trim() : `error: ${result.stderr.trim()}`;
}

const withDatabase = (uri: string, database: string) => uri.replace(/\/app\?/, `/${database}?`);

describe('databases and roles of a plan', () => {
  const cloud = useLocalCloud();

  it('makes the extra database and the roles, whose passwords are set on request and whose access is what the plan says', async () => {
    const spec = planWith({
      name: 'access',
      db: { databases: ['analytics'], roles: [{ name: 'reporting' }, { name: 'etl', access: 'readwrite' }], backup: { validate: false } },
    });
    const planId = await cloud.api.createPlan(spec);
    const early = await cloud.api.call('POST', `/v1/plan/${planId}/roles/reporting/password`);
    expect(early.status).toBe(409);
    const { deployment } = await cloud.api.deploy(planId);
    expect(deployment.status, deployment.reason).toBe('running');

    const view = await cloud.api.call<{ endpoint: { databases?: string[]; roles?: { name: string; access: string }[] } }>(
      'GET',
      `/v1/plan/${planId}/deployment`,
    );
    expect(view.json.endpoint.databases).toEqual(['app', 'analytics']);
    expect(view.json.endpoint.roles).toEqual([
      { name: 'reporting', access: 'readonly' },
      { name: 'etl', access: 'readwrite' },
    ]);
    const app: Credentials & { caCertificate: string; caFileName: string; uri: string } = await cloud.api.credentials(planId);
    const dir = mkdtempSync(join(tmpdir(), 'cloudseed-access-'));
    writeFileSync(join(dir, app.caFileName), app.caCertificate);
    expect(psql(app.uri, "CREATE TABLE orders (id int PRIMARY KEY, note text); INSERT INTO orders VALUES (1, 'first'); SELECT 'ok'", dir)).toBe('ok');
    // The application owns the extra database.
    expect(psql(withDatabase(app.uri, 'analytics'), 'CREATE TABLE events (id int); SELECT current_database()', dir)).toBe('analytics');

    // Another customer cannot set a password; an unknown role is a 404 naming the plan's roles.
    expect((await cloud.other.api.call('POST', `/v1/plan/${planId}/roles/reporting/password`)).status).toBe(404);
    const unknown = await cloud.api.call<{ detail: string }>('POST', `/v1/plan/${planId}/roles/admin/password`);
    expect(unknown.status).toBe(404);
    expect(unknown.json.detail).toBe('The deployed plan has no role admin in db; its roles are reporting, etl.');
    const notManaged = await cloud.api.call('POST', `/v1/plan/${planId}/roles/app/password`);
    expect(notManaged.status).toBe(404);

    const answer = await cloud.api.call<RolePassword>('POST', `/v1/plan/${planId}/roles/reporting/password`);
    expect(answer.status, answer.text).toBe(200);
    expect(answer.json).toMatchObject({ component: 'db', role: 'reporting', access: 'readonly', databases: ['app', 'analytics'] });
    expect(answer.json.password).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(answer.json.uri).toContain(`postgresql://reporting:${answer.json.password}@`);
    const reporting = answer.json.uri;
    expect(psql(reporting, 'SELECT note FROM orders', dir)).toBe('first');
    expect(psql(withDatabase(reporting, 'analytics'), 'SELECT count(*) FROM events', dir)).toBe('0');
    expect(psql(reporting, "INSERT INTO orders VALUES (2, 'no')", dir)).toMatch(/permission denied for table orders/);
    expect(psql(reporting, 'CREATE TABLE mine (id int)', dir)).toMatch(/permission denied for schema public/);
    expect(psql(withDatabase(reporting, 'postgres'), 'SELECT 1', dir)).toMatch(
      /pg_hba.conf rejects connection for host "127.0.0.1", user "reporting", database "postgres"/,
    );

    const etl = (await cloud.api.call<RolePassword>('POST', `/v1/plan/${planId}/roles/etl/password`)).json;
    expect(etl.access).toBe('readwrite');
    expect(psql(etl.uri, "INSERT INTO orders VALUES (2, 'loaded'); SELECT count(*) FROM orders", dir)).toBe('2');
    expect(psql(etl.uri, 'DROP TABLE orders', dir)).toMatch(/must be owner of table orders/);

    // A new password replaces the old one.
    const again = (await cloud.api.call<RolePassword>('POST', `/v1/plan/${planId}/roles/reporting/password`)).json;
    expect(again.password).not.toBe(answer.json.password);
    expect(psql(reporting, 'SELECT 1', dir)).toMatch(/password authentication failed/);
    expect(psql(again.uri, 'SELECT 1', dir)).toBe('1');

    // Taken out of the plan, a role loses its login on the next deploy; the database stays.
    const current = await cloud.api.call<{ spec: Record<string, unknown> }>('GET', `/v1/plan/${planId}`);
    const edited = JSON.parse(JSON.stringify(current.json.spec)) as { components: { db: { roles: unknown[]; databases: unknown[] } }[] };
    edited.components[0]!.db.roles = [{ name: 'etl', access: 'readwrite' }];
    edited.components[0]!.db.databases = [];
    const put = await cloud.api.call('PUT', `/v1/plan/${planId}`, {
      body: edited,
      headers: { 'if-match': current.headers.get('etag') ?? '' },
    });
    expect(put.status, put.text).toBe(200);
    const redeployed = await cloud.api.deploy(planId);
    expect(redeployed.deployment.status, redeployed.deployment.reason).toBe('running');
    expect(psql(again.uri, 'SELECT 1', dir)).toMatch(/pg_hba.conf rejects connection for host "127.0.0.1", user "reporting"/);
    expect(
      psql(app.uri, "SELECT rolcanlogin, pg_has_role('reporting', 'pg_read_all_data', 'member') FROM pg_roles WHERE rolname = 'reporting'", dir),
    ).toBe('f|f');
    expect(psql(etl.uri, 'SELECT count(*) FROM orders', dir)).toBe('2');
    expect(psql(app.uri, "SELECT count(*) FROM pg_database WHERE datname = 'analytics'", dir)).toBe('1');
    expect((await cloud.api.call('POST', `/v1/plan/${planId}/roles/reporting/password`)).status).toBe(404);
  });
});
